"""Deep declarative nodes (Gould et al.): a solver as argmin f(x, y) subject to h(x, y) = 0.

At a regular solution y(x) with multipliers nu (f_Y = nu^T h_Y), the DDN gradient is

    Dy = H^-1 A^T (A H^-1 A^T)^-1 (A H^-1 B - C) - H^-1 B,

    H = f_YY - sum_i nu_i h_i,YY,   A = h_Y,   B = f_XY - sum_i nu_i h_i,XY,   C = h_X

(Gould, Hartley & Campbell, "Deep Declarative Networks", TPAMI 2022). This module implements exactly that: per problem it forms the matrices with
``torch.func`` (gradients, Jacobians and Hessians of the objective and constraints, ``vmap``-ed
over the batch) and evaluates the formula with batched solves. Forming B (n x dim x) and the
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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.func import grad, jacfwd, jacrev, vmap

from mbp_teach.gradients import residuals as res
from mbp_teach.gradients.implicit import (
    Policy,
    _report,
    current_policy,
    eight_point_start,
    inverse_and_cond,
    solver_backwards,
    straight_through,
)
from mbp_teach.solvers.epipolar import epipolar_residuals
from mbp_teach.solvers.fundamental import hartley_normalisation, weighted_moment

__all__ = ["BACKWARDS", "DeclarativeNode", "ddn_jacobian"]


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
        return [p.reshape(s) for p, s in zip(torch.split(xf, sizes), shapes)]

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
    xflat = torch.cat([x.reshape(B_, math.prod(s)) for x, s in zip(xs, shapes)], 1)
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
        grads = [p.reshape(x.shape) for p, x in zip(torch.split(g, [math.prod(x.shape[1:]) for x in xs], 1), xs)]
        grads = [gr if need else None for gr, need in zip(grads, ctx.needs_input_grad[4: 4 + ctx.n_diff])]
        return (None, None, None, None, *grads, *([None] * len(aux)))


# -- the solvers as declarative nodes ---------------------------------------------------------------

def rotation_objective(r, P, Q, w):
    """sum_i w_i |R p_i - q_i|^2 for R = mat(r)."""
    R = r.reshape(3, 3)
    return (w * ((P @ R.T - Q) ** 2).sum(-1)).sum()


def rotation_constraints(r, P, Q, w):
    """The 6 independent entries of R^T R - I (orthogonality; det R = +1 is the branch, not an equation)."""
    return res.orthogonality(r.reshape(3, 3))


def rigid_objective(y, P, Q, w):
    R, t = y[:9].reshape(3, 3), y[9:]
    return (w * ((P @ R.T + t - Q) ** 2).sum(-1)).sum()


def rigid_constraints(y, P, Q, w):
    return res.orthogonality(y[:9].reshape(3, 3))


def eigen_objective(f, x1, x2, w):
    """f^T M_n f: the weighted algebraic epipolar error in Hartley-normalised coordinates."""
    n1, _ = hartley_normalisation(x1, w)
    n2, _ = hartley_normalisation(x2, w)
    return f @ weighted_moment(n1, n2, w) @ f


def unit_norm(y, *_):
    return (0.5 * (y @ y - 1.0)).reshape(1)


def rank2_objective(Fn, f):
    """|Fn - F0|^2: the nearest matrix ..."""
    return ((Fn - f) ** 2).sum()


def rank2_constraint(Fn, f):
    """... of rank 2 (det Fn = 0)."""
    return res.det3(Fn.reshape(3, 3)).reshape(1)


def essential_objective(e, x1, x2, frame):
    """sum of squared epipolar residuals (zero at a minimal problem's solution)."""
    return (epipolar_residuals(e.reshape(3, 3), x1, x2) ** 2).sum()


def essential_constraints(e, x1, x2, frame):
    """(|E|^2 - 1)/2, det E, <N1, T(E)>, <N2, T(E)>: the last four rows of ``essential_residual``."""
    return res.essential_residual(e, x1, x2, frame)[5:]


ROTATION = DeclarativeNode(rotation_objective, rotation_constraints, name="kabsch (ddn)")
RIGID = DeclarativeNode(rigid_objective, rigid_constraints, name="rigid_transform (ddn)")
EIGEN = DeclarativeNode(eigen_objective, unit_norm, name="eight_point least squares (ddn)")
RANK2 = DeclarativeNode(rank2_objective, rank2_constraint, name="eight_point rank 2 (ddn)")
ESSENTIAL = DeclarativeNode(essential_objective, essential_constraints, name="five_point (ddn)")


NODES = {"kabsch": ROTATION, "rigid_transform": RIGID, "five_point": ESSENTIAL}


def _attach_ddn(solver: str, y0: torch.Tensor, xs: tuple, aux: tuple) -> torch.Tensor:
    return NODES[solver].attach(y0, xs, aux)


def _eight_point(forward, x1, x2, w):
    F, xs, z0 = eight_point_start(forward, x1, x2, w)
    with torch.no_grad():
        F0, v = z0[:, :9].unflatten(-1, (3, 3)), z0[:, 10:13]
        Fn0 = (F0 - (F0 @ v.unsqueeze(-1)) @ v.unsqueeze(-2)).flatten(1)
    group = object()  # the two nodes of one solver call: one report per backward
    f = EIGEN.attach(z0[:, :9], xs, group=group)
    Fn = RANK2.attach(Fn0, (f,), group=group)
    _, T1 = hartley_normalisation(xs[0], xs[2])
    _, T2 = hartley_normalisation(xs[1], xs[2])
    out = T2.transpose(-1, -2) @ Fn.unflatten(-1, (3, 3)) @ T1
    out = out / torch.linalg.matrix_norm(out)[..., None, None]
    return straight_through(F, out.reshape(F.shape))


BACKWARDS = {**solver_backwards(_attach_ddn), "eight_point": _eight_point}
