"""Deep declarative nodes (Gould et al.): a solver as argmin f(x, y) subject to h(x, y) = 0.

At a regular solution y(x) with multipliers nu (f_Y = nu^T h_Y), the DDN gradient is

    Dy = H^-1 A^T (A H^-1 A^T)^-1 (A H^-1 B - C) - H^-1 B,

    H = f_YY - sum_i nu_i h_i,YY,   A = h_Y,   B = f_XY - sum_i nu_i h_i,XY,   C = h_X

(Gould, Hartley & Campbell, "Deep Declarative Networks", TPAMI 2022). This module implements exactly that:
per problem it forms the matrices with ``torch.func`` (gradients, Jacobians and Hessians of the objective
and constraints, ``vmap``-ed over the batch) and evaluates the formula with batched solves. Forming B (n x dim x) and the
second derivatives is what makes DDN the slow baseline.

The formula needs H invertible, which fails at *every* solution of two of our problems: for an
eigenvector (min f^T M f s.t. |f| = 1, H = 2(M - lam I) has f in its null space) and for a
minimal problem (min |A e|^2 with zero residual, H = 2 A^T A has rank 5 of 9). The remedy used
here is the augmented Lagrangian: the objective f + rho/2 |h|^2 has the same minimiser and the
same multipliers on h = 0, and changes H to H + rho A^T A and B to B + rho A^T C, which leaves
Dy unchanged (the KKT system it solves is the same) but makes H invertible whenever the
problem is regular. rho is scaled per problem as ``rho * ||H||_F / ||A||_F^2``; ``rho=0`` gives
the plain formula (see the notebook: it fails on planar point sets).

Singular or ill-conditioned H or A H^-1 A^T are handled as in ``mbp_teach.gradients.implicit``: per
problem, a warning and a flag (zero gradient), or an error, chosen with ``implicit.policy``.

Each solver declares its node (objective and constraints) beside its forward, in its ``SolverSpec``
(``mbp_teach.solvers``); ``mbp_teach.gradients.backward`` attaches it. Nothing here knows a solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.func import grad, jacfwd, jacrev, vmap

from mbp_teach.gradients.implicit import Policy, _report, current_policy, inverse_and_cond

__all__ = ["DeclarativeNode", "ddn_jacobian"]


@dataclass(frozen=True)
class DeclarativeNode:
    """argmin_y objective(y, *xs, *aux) subject to constraints(y, *xs, *aux) = 0.

    Both functions act on one problem (y: (n,), each x without batch dimension): the node maps
    them over the batch with ``vmap``. ``constraints`` returns (p,) with p < n independent
    equations; ``rho`` scales the augmented-Lagrangian term (0: the plain DDN formula).
    """

    objective: Callable[..., torch.Tensor]
    constraints: Callable[..., torch.Tensor]
    rho: float = 1.0
    name: str = "ddn"

    def attach(self, y: torch.Tensor, xs: Sequence[torch.Tensor], aux: Sequence[torch.Tensor] = (),
               group: object = None) -> torch.Tensor:
        """y (B, n), a solution computed by any means, returned with the DDN backward towards ``xs``.

        Nodes attached with the same ``group`` (one solver built of several nodes) are logged as one
        report per backward, so ``BackwardLog.flags()`` has one flag per problem."""
        if y.dim() != 2:
            raise ValueError(f"y: expected shape (B, n), got {tuple(y.shape)}")
        for k, t in enumerate(tuple(xs) + tuple(aux)):
            if t.shape[0] != y.shape[0]:
                raise ValueError(f"argument {k}: leading dimension {t.shape[0]} != batch size {y.shape[0]}")
        return _Declarative.apply((self, group), current_policy(), len(xs), y.detach(), *xs,
                                  *(a.detach() for a in aux))


def _matrices(node: DeclarativeNode, y: torch.Tensor, xflat: torch.Tensor, shapes, aux):
    """Per problem: H, A, B, C of the DDN formula (already augmented), batched by vmap."""
    sizes = [math.prod(s) for s in shapes]

    def split(xf):
        return [p.reshape(s) for p, s in zip(torch.split(xf, sizes), shapes, strict=True)]

    def f(y1, xf, *a):
        return node.objective(y1, *split(xf), *a)

    def h(y1, xf, *a):
        return node.constraints(y1, *split(xf), *a)

    def one(y1, xf, *a):
        fY = grad(f)(y1, xf, *a)
        A = jacrev(h)(y1, xf, *a)
        C = jacrev(h, argnums=1)(y1, xf, *a)
        nu = torch.linalg.solve(A @ A.T, A @ fY)  # least-squares multipliers: f_Y = nu^T A

        def lagrangian(yy, xx):
            return f(yy, xx, *a) - (nu * h(yy, xx, *a)).sum()  # not nu @ h: jacfwd(jacrev) of that breaks in float32 (torch 2.13)

        H = jacfwd(jacrev(lagrangian))(y1, xf)
        B = jacfwd(jacrev(lagrangian), argnums=1)(y1, xf)
        return H, A, B, C

    H, A, B, C = vmap(one)(y, xflat, *aux)
    if node.rho:
        AtA = A.transpose(-1, -2) @ A
        scale = torch.linalg.matrix_norm(H) / torch.linalg.matrix_norm(A).square().clamp_min(torch.finfo(H.dtype).tiny)
        rho = (node.rho * scale)[:, None, None]
        H = H + rho * AtA
        B = B + rho * (A.transpose(-1, -2) @ C)
    return H, A, B, C


def ddn_jacobian(node: DeclarativeNode, y: torch.Tensor, xs: Sequence[torch.Tensor], aux: Sequence[torch.Tensor] = (),
                 pol: Policy | None = None, group: object = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(Dy (B, n, m), flags (B,)): the DDN formula for every problem; m = total size of one problem's xs.

    Computed in float64 whatever the dtype of y (Dy is returned in y's dtype): the augmented H of the
    five-point node has condition numbers 1e6-1e7, beyond float32's limit (2e5) but harmless in float64;
    the condition limit is then float64's. A problem is flagged when H or A H^-1 A^T is singular or
    ill-conditioned; each backward logs one report, one flag per problem (``BackwardLog``).
    """
    pol = pol or current_policy()
    dtype = y.dtype
    y = y.detach().to(torch.float64)
    xs = [x.detach().to(torch.float64) for x in xs]
    aux = tuple(a.to(torch.float64) if a.is_floating_point() else a for a in aux)
    B_ = y.shape[0]
    shapes = [tuple(x.shape[1:]) for x in xs]
    xflat = torch.cat([x.reshape(B_, math.prod(s)) for x, s in zip(xs, shapes, strict=True)], 1)
    if B_ == 0:  # an empty batch (vmap needs at least one problem)
        return y.new_zeros(0, y.shape[1], xflat.shape[1]).to(dtype), torch.zeros(0, dtype=torch.bool)
    H, A, B, C = _matrices(node, y, xflat, shapes, aux)
    limit = pol.limit(torch.float64)
    Hinv, cond_h = inverse_and_cond(H)
    HiAt = Hinv @ A.transpose(-1, -2)
    Sinv, cond_s = inverse_and_cond(A @ HiAt)
    HiB = Hinv @ B
    Dy = HiAt @ (Sinv @ (A @ HiB - C)) - HiB
    cond = torch.maximum(cond_h, cond_s)
    flags = ~((cond_h <= limit) & (cond_s <= limit) & torch.isfinite(Dy).flatten(1).all(-1))
    _report(flags, torch.where(torch.isnan(cond), torch.full_like(cond, float("inf")), cond), pol,
            f"{node.name}: H or A H^-1 A^T", torch.float64, group)
    return torch.where(flags[:, None, None], torch.zeros_like(Dy), Dy).to(dtype), flags


class _Declarative(torch.autograd.Function):
    @staticmethod
    def forward(ctx, node_group, pol, n_diff, y, *args):
        (ctx.node, ctx.group), ctx.pol, ctx.n_diff = node_group, pol, n_diff
        ctx.save_for_backward(y, *args)
        return y.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy):
        y, *args = ctx.saved_tensors
        xs, aux = args[: ctx.n_diff], args[ctx.n_diff:]
        with torch.enable_grad():
            Dy, _ = ddn_jacobian(ctx.node, y, xs, aux, ctx.pol, ctx.group)
        g = torch.einsum("bn,bnm->bm", gy, Dy)
        parts = torch.split(g, [math.prod(x.shape[1:]) for x in xs], 1)
        wanted = ctx.needs_input_grad[4: 4 + ctx.n_diff]
        grads = (p.reshape(x.shape) if need else None for p, x, need in zip(parts, xs, wanted, strict=True))
        return (None, None, None, None, *grads, *([None] * len(aux)))
