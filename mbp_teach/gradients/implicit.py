"""The implicit function theorem (IFT) as a generic autograd layer.

A solver returns y(x) with F(x, y(x)) = 0 for a residual F that is *square* (as many equations
as unknowns) and *regular* at the solution (dF/dy invertible). Differentiating the identity
F(x, y(x)) = 0 gives

    dF/dx + dF/dy dy/dx = 0   =>   dy/dx = -(dF/dy)^-1 dF/dx,

so for a loss with gradient v = dL/dy the backward pass needs one linear solve per problem,

    (dF/dy)^T u = v,      dL/dx = -u^T dF/dx,

and never looks at how the solver found y (SVD, eigenvalues, Gauss-Jordan...). Here dF/dy is
built for the whole batch from n vector-Jacobian products (``torch.func.vjp`` under ``vmap``,
i.e. a batched ``jacrev``), u^T dF/dx is one more vector-Jacobian product, and the solves are one
batched LU factorisation: no Python loop over problems. A residual may come with closed forms of
its derivatives (``ClosedForm``: ``jacobian(y, *xs, *aux)`` and ``vjp_x(y, u, *xs, *aux)``), used
instead of torch.func; the five-point residual does (its backward is the hot one), and the tests
check that they equal what torch.func computes.

Each problem's dF/dy is checked: if it is singular, not finite, or its (estimated) 1-norm
condition number exceeds ``cond_limit`` (default eps^-3/4: about 5e11 in float64, 2e5 in float32, where
the solve could lose more than three quarters of the digits), that problem is *flagged*: the
gradient through its y is set to zero (never NaN, never another problem's; for the 8-point solver
the explicit de-normalisation F = T2^T F_n T1 still passes its own, finite, part), a ``SingularJacobianWarning``
naming the problems is issued, and the flags are recorded; or, if the caller chose
``on_singular="raise"``, a ``SingularJacobianError`` is raised. Choose with the ``policy``
context manager around the forward call::

    with implicit.policy(on_singular="warn") as log:
        R = kabsch(P, Q, w, backward="ift")
    R.sum().backward()
    log.flags()   # bool per problem of every backward so far

Each solver's residual lives beside the solver, in its ``SolverSpec`` (``mbp_teach.solvers``);
``mbp_teach.gradients.backward`` attaches this layer to a solver's output. Nothing here knows a solver.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch.func import vjp, vmap

__all__ = [
    "BackwardLog", "ClosedForm", "Policy", "SingularJacobianError", "SingularJacobianWarning", "checked_inverse",
    "checked_solve_transposed", "connected_zero", "ift_vjp", "implicit", "inverse_and_cond", "policy",
    "residual_jacobian", "straight_through",
]


class SingularJacobianWarning(RuntimeWarning):
    """Some problems had a singular or ill-conditioned Jacobian; ``items`` lists their batch indices."""

    def __init__(self, message: str, items: list[int]):
        super().__init__(message)
        self.items = items


class SingularJacobianError(ValueError):
    """Raised instead of the warning when the policy is ``on_singular="raise"``."""

    def __init__(self, message: str, items: list[int]):
        super().__init__(message)
        self.items = items


@dataclass
class BackwardLog:
    """What the backward passes run under one ``policy`` found: one entry per backward call."""

    reports: list[dict] = field(default_factory=list)

    def _merged(self, key: str, combine) -> list[torch.Tensor]:
        """One tensor per backward: consecutive reports of one ``group`` (several nodes of one solver) combined."""
        out: list[list] = []
        for r in self.reports:
            g = r.get("group")
            if g is not None and out and out[-1][0] is g and out[-1][1].shape == r[key].shape:
                out[-1][1] = combine(out[-1][1], r[key])
            else:
                out.append([g, r[key]])
        return [t for _, t in out]

    def flags(self) -> torch.Tensor:
        """All flags (True = problem flagged) of every backward, concatenated: one per problem and backward."""
        if not self.reports:
            return torch.zeros(0, dtype=torch.bool)
        return torch.cat(self._merged("flags", torch.logical_or))

    def cond(self) -> torch.Tensor:
        """The condition numbers behind ``flags`` (the largest where a backward logged several)."""
        if not self.reports:
            return torch.zeros(0)
        return torch.cat(self._merged("cond", torch.maximum))


@dataclass(frozen=True)
class Policy:
    on_singular: str = "warn"
    cond_limit: float | None = None
    log: BackwardLog | None = None

    def limit(self, dtype: torch.dtype) -> float:
        return self.cond_limit if self.cond_limit is not None else torch.finfo(dtype).eps ** -0.75


_DEFAULT = Policy()  # frozen: one shared instance is safe as the context variable's default
_POLICY: contextvars.ContextVar[Policy] = contextvars.ContextVar("mbp_teach_implicit_policy", default=_DEFAULT)


@contextlib.contextmanager
def policy(on_singular: str = "warn", cond_limit: float | None = None):
    """Choose what a singular/ill-conditioned Jacobian does in backwards of layers *created* inside.

    ``on_singular``: "warn" (zero gradient for that problem, warning, flag) or "raise". Yields a
    ``BackwardLog`` that collects the per-problem flags and condition numbers. The policy is
    captured when the forward runs, so ``backward()`` may be called after the block.
    """
    if on_singular not in ("warn", "raise"):
        raise ValueError(f"on_singular: must be 'warn' or 'raise', got {on_singular!r}")
    if cond_limit is not None and not (isinstance(cond_limit, (int, float)) and cond_limit > 1):
        raise ValueError(f"cond_limit: must be a number > 1, got {cond_limit!r}")
    log = BackwardLog()
    token = _POLICY.set(Policy(on_singular, cond_limit, log))
    try:
        yield log
    finally:
        _POLICY.reset(token)


def current_policy() -> Policy:
    return _POLICY.get()


def _report(flags: torch.Tensor, cond: torch.Tensor, pol: Policy, what: str, dtype: torch.dtype,
            group: object = None) -> None:
    """Log the flags, then warn or raise if any problem is flagged."""
    if pol.log is not None:
        pol.log.reports.append({"what": what, "flags": flags.detach().cpu(), "cond": cond.detach().cpu(),
                                "group": group})
    if bool(flags.any()):
        items = torch.nonzero(flags).flatten().tolist()
        head = ", ".join(str(i) for i in items[:10]) + (", ..." if len(items) > 10 else "")
        message = (f"{what}: {len(items)} of {flags.numel()} problem(s) have a singular or ill-conditioned Jacobian "
                   f"(condition number > {pol.limit(dtype):.1e}) at batch index {head}")
        if pol.on_singular == "raise":
            raise SingularJacobianError(message, items)
        warnings.warn(SingularJacobianWarning(message + "; their gradient is set to zero", items), stacklevel=4)


def _norm1(A: torch.Tensor) -> torch.Tensor:
    return A.abs().sum(-2).amax(-1)  # max column sum; NaN propagates


def inverse_and_cond(J: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(J^-1, 1-norm condition number ||J||_1 ||J^-1||_1) for a batch J (B, n, n); inf where J is singular."""
    Jinv, info = torch.linalg.inv_ex(J)
    cond = torch.where(info == 0, _norm1(J) * _norm1(Jinv), torch.full_like(J[:, 0, 0], float("inf")))
    return Jinv, cond


def checked_inverse(J: torch.Tensor, pol: Policy, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(J^-1 with flagged problems zeroed, flags) for a batch J (B, n, n); warns or raises per ``pol``.

    A problem is flagged when J is exactly singular or not finite, or its 1-norm condition number
    ||J||_1 ||J^-1||_1 exceeds the policy's limit (NaN and inf are flagged too).
    """
    Jinv, cond = inverse_and_cond(J)
    flags = ~(cond <= pol.limit(J.dtype))
    _report(flags, cond, pol, what, J.dtype)
    return torch.where(flags[:, None, None], torch.zeros_like(Jinv), Jinv), flags


def checked_solve_transposed(J: torch.Tensor, v: torch.Tensor, pol: Policy, what: str
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """(u with J^T u = v, flags) for a batch (B, n, n), (B, n); flagged problems get u = 0.

    One LU factorisation per problem; ||J^-1||_1 is estimated in the spirit of LAPACK's gecon (Hager's
    method: a solve with J, one with J^T, and one more with J), which costs three
    one-column solves instead of the n columns of an explicit inverse.
    """
    LU, piv, info = torch.linalg.lu_factor_ex(J)
    solve = lambda b, adjoint=False: torch.linalg.lu_solve(LU, piv, b.unsqueeze(-1), adjoint=adjoint).squeeze(-1)  # noqa: E731
    u = solve(v, adjoint=True)
    n = J.shape[-1]
    x = solve(torch.full_like(v, 1.0 / n))
    z = solve(torch.where(x >= 0, 1.0, -1.0).to(v.dtype), adjoint=True)
    j = z.abs().argmax(-1)
    x2 = solve(torch.nn.functional.one_hot(j, n).to(v.dtype))
    inv_norm = torch.maximum(x.abs().sum(-1), x2.abs().sum(-1))
    cond = torch.where(info == 0, _norm1(J) * inv_norm, torch.full_like(inv_norm, float("inf")))
    flags = ~((cond <= pol.limit(J.dtype)) & torch.isfinite(u).all(-1))
    _report(flags, cond, pol, what, J.dtype)
    return torch.where(flags[:, None], torch.zeros_like(u), u), flags


@dataclass(frozen=True)
class ClosedForm:
    """A residual F(y, *xs, *aux) with its derivatives in closed form, used instead of torch.func.

    ``jacobian(y, *xs, *aux)`` -> dF/dy (B, n, n); ``vjp_x(y, u, *xs, *aux)`` -> u^T dF/dx for every x in
    xs. Calling the object calls the residual. Worth it only for a hot backward (five_point's).
    """

    residual: Callable[..., torch.Tensor]
    jacobian: Callable[..., torch.Tensor]
    vjp_x: Callable[..., tuple[torch.Tensor, ...]]

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        return self.residual(*args)


def _vjp(fn: Callable[..., torch.Tensor], *primals: torch.Tensor) -> tuple[torch.Tensor, Callable[..., tuple]]:
    """``torch.func.vjp`` without aux output: (fn(*primals), pull-back)."""
    result = vjp(fn, *primals)
    return result[0], result[1]


@dataclass(frozen=True)
class _Layer:
    residual: Callable
    n_diff: int
    policy: Policy
    name: str


class _Implicit(torch.autograd.Function):
    """y (B, n) -> the same values, with the IFT backward towards args[:n_diff]."""

    @staticmethod
    def forward(ctx, layer: _Layer, y: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        ctx.layer = layer
        ctx.save_for_backward(y, *args)
        return y.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy: torch.Tensor):
        layer: _Layer = ctx.layer
        y, *args = ctx.saved_tensors
        xs, aux = tuple(args[: layer.n_diff]), tuple(args[layer.n_diff:])
        grads = ift_vjp(layer.residual, y, xs, aux, gy, layer.policy, layer.name)
        wanted = ctx.needs_input_grad[2: 2 + layer.n_diff]
        return (None, None, *(g if need else None for g, need in zip(grads, wanted, strict=True)), *([None] * len(aux)))


def residual_jacobian(residual: Callable, y: torch.Tensor, xs: Sequence[torch.Tensor],
                      aux: Sequence[torch.Tensor] = ()) -> torch.Tensor:
    """dF/dy (B, n, n) for every problem at once.

    The residual treats problems independently, so one batched vector-Jacobian product with the
    cotangent e_k in every problem gives row k of every problem's Jacobian; ``vmap`` runs the n
    products together (the torch.func form of ``jacrev`` for a batch of independent problems).
    """
    if isinstance(residual, ClosedForm):
        return residual.jacobian(y.detach(), *xs, *aux)
    y = y.detach()
    out, pull = _vjp(lambda yy: residual(yy, *xs, *aux), y)
    n = y.shape[-1]
    if out.shape != y.shape:
        raise ValueError(f"the residual must be square: {n} unknowns but F has shape {tuple(out.shape[1:])}")
    basis = torch.eye(n, dtype=y.dtype, device=y.device).unsqueeze(1).expand(n, *y.shape)  # (n, B, n)
    (rows,) = vmap(pull)(basis)  # rows[k, b] = e_k^T dF_b/dy
    return rows.movedim(0, 1)


def ift_vjp(residual: Callable, y: torch.Tensor, xs: Sequence[torch.Tensor], aux: Sequence[torch.Tensor],
            v: torch.Tensor, pol: Policy | None = None, name: str = "ift") -> tuple[torch.Tensor, ...]:
    """dL/dx for every x in ``xs`` given v = dL/dy: solve (dF/dy)^T u = v, return -u^T dF/dx.

    y, v: (B, n); xs, aux: tensors with leading batch dimension B. ``residual(y, *xs, *aux)`` is
    batched ((B, n) -> (B, n)) with independent problems.
    """
    pol = pol or current_policy()
    xs, aux = tuple(x.detach() for x in xs), tuple(aux)
    with torch.enable_grad():
        J = residual_jacobian(residual, y, xs, aux)
        if J.shape[-1] != J.shape[-2] or J.shape[-1] != y.shape[-1]:
            raise ValueError(f"{name}: the residual must be square, dF/dy has shape {tuple(J.shape[1:])}")
        u, _ = checked_solve_transposed(J, v, pol, name)  # u = J^-T v (zero for flagged problems)
        if isinstance(residual, ClosedForm):
            return tuple(-g for g in residual.vjp_x(y.detach(), u, *xs, *aux))
        _, pull = _vjp(lambda *x: residual(y.detach(), *x, *aux), *xs)
        return tuple(-g for g in pull(u))


def implicit(residual: Callable, y: torch.Tensor, xs: Sequence[torch.Tensor], aux: Sequence[torch.Tensor] = (),
             name: str = "ift") -> torch.Tensor:
    """Return y (same values) whose gradient towards ``xs`` is given by the IFT on ``residual``.

    y: (B, n) solutions, computed by any means, with residual(y, *xs, *aux) = 0 (B, n), each
    problem's residual depending only on its own row of y and of every x;
    xs: tensors with leading dimension B that the gradient flows to; aux: per-problem data
    (leading dimension B) that the residual needs but that receives no gradient.
    The policy for singular Jacobians is the one active now (see ``policy``).
    """
    if y.dim() != 2:
        raise ValueError(f"y: expected shape (B, n), got {tuple(y.shape)}")
    for k, t in enumerate(tuple(xs) + tuple(aux)):
        if t.shape[0] != y.shape[0]:
            raise ValueError(f"argument {k}: leading dimension {t.shape[0]} != batch size {y.shape[0]}")
    layer = _Layer(residual, len(xs), current_policy(), name)
    return _Implicit.apply(layer, y.detach(), *xs, *(a.detach() for a in aux))


def straight_through(value: torch.Tensor, differentiable: torch.Tensor) -> torch.Tensor:
    """``value`` exactly, with the gradient of ``differentiable`` (which equals it up to round-off).

    Keeps the forward result bit-identical to the solver's while the gradient comes from the
    implicit layer: value + (d - d.detach()) adds an exact zero that carries d's gradient.
    """
    return value.detach() + (differentiable - differentiable.detach())


def connected_zero(value: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """``value`` exactly, attached to the graph of ``inputs`` with a zero gradient (as autograd would give
    for an output that does not depend on them), so ``backward()`` works when nothing is differentiated."""
    link = sum((x.sum() * 0.0 for x in inputs if x.requires_grad), value.new_zeros(()))
    return value.detach() + link
