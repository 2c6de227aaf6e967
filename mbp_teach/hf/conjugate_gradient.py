"""Preconditioned conjugate gradient that keeps its whole history, as Hessian-free needs it.

Solves A x = b for a symmetric positive definite A given only as ``matvec(v) = A v``, which is
the same as minimising the quadratic model

    phi(x) = 1/2 x^T A x - b^T x        (phi(x) = -1/2 x^T (b + r) with r = b - A x, so free).

Preconditioning: ``M(r)`` returns z ~ A^{-1} r (scipy's convention). Standard PCG uses
beta = (r_{i+1}^T z_{i+1}) / (r_i^T z_i) (Fletcher-Reeves form) and needs M fixed; with
``flexible=True`` beta = z_{i+1}^T (r_{i+1} - r_i) / (r_i^T z_i) (Polak-Ribiere form), which stays
sound when M changes from one iteration to the next (Golub & Ye 1999; Notay 2000).

Every step gives a curvature pair for free: s = alpha p and y = A s = alpha A p, which an
L-BFGS preconditioner can reuse (Sainath et al. 2013). Martens' (2010) stopping rule ends
the solve when the model stops making relative progress:
with k = max(10, ceil(0.1 i)), stop at iteration i > k if phi_i < 0 and
(phi_i - phi_{i-k}) / phi_i < k * eps (eps = 5e-4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from mbp_teach.validation import check_finite, check_positive

Matvec = Callable[[torch.Tensor], torch.Tensor]

MARTENS_EPS = 5e-4


def backtrack_grid(max_iters: int, start: float = 5.0, factor: float = 1.3) -> list[int]:
    """Iterations at which Martens keeps CG iterates: ceil(5 * 1.3^j), j = 0, 1, ... (up to max_iters)."""
    grid: list[int] = []
    j = 0
    while True:
        i = math.ceil(start * factor**j)
        if i > max_iters:
            return grid
        if not grid or i != grid[-1]:
            grid.append(i)
        j += 1


@dataclass
class CGHistory:
    """What one solve did. Index i = after i iterations (entry 0 is the starting point)."""

    residual_norms: list[float] = field(default_factory=list)
    phi: list[float] = field(default_factory=list)
    s: list[torch.Tensor] = field(default_factory=list)
    y: list[torch.Tensor] = field(default_factory=list)
    kept: dict[int, torch.Tensor] = field(default_factory=dict)  # iteration -> iterate (backtracking grid)
    stop_reason: str = ""

    @property
    def iterations(self) -> int:
        return len(self.residual_norms) - 1


def martens_should_stop(phi: list[float], eps: float = MARTENS_EPS) -> bool:
    """Martens' relative-progress test on the model values phi_0..phi_i (i = len(phi) - 1)."""
    i = len(phi) - 1
    k = max(10, math.ceil(0.1 * i))
    if i <= k or phi[i] >= 0:
        return False
    return (phi[i] - phi[i - k]) / phi[i] < k * eps


def cg(
    matvec: Matvec,
    b: torch.Tensor,
    x0: torch.Tensor | None = None,
    M: Callable[[torch.Tensor], torch.Tensor] | None = None,
    flexible: bool = False,
    max_iters: int = 250,
    rtol: float = 1e-10,
    atol: float = 0.0,
    martens: bool = False,
    martens_eps: float = MARTENS_EPS,
    keep: list[int] | None = None,
    on_pair: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, CGHistory]:
    """Minimise phi(x) = 1/2 x^T A x - b^T x by (preconditioned, optionally flexible) CG.

    Stops when ||r|| <= max(rtol ||b||, atol) (scipy's rule), after ``max_iters`` iterations,
    when Martens' rule fires (``martens=True``), or when a direction of non-positive curvature
    is met (A not positive definite along p: the solve keeps the iterate it has).
    A right-hand side ``b`` or start ``x0`` with NaN or inf, or a product ``matvec(p)`` that returns NaN or inf,
    raises ``ValueError`` (a NaN would otherwise look like non-positive curvature and end the solve at x0).
    ``keep``: iterations whose iterates are stored in ``history.kept`` (the final one always is).
    ``on_pair(s, y)`` is called after every step, e.g. to update a preconditioner during the solve
    (then use ``flexible=True``).
    """
    if b.dim() != 1:
        raise ValueError(f"b: expected a vector, got shape {tuple(b.shape)}")
    if not isinstance(max_iters, int) or max_iters < 0:
        raise ValueError(f"max_iters: need a non-negative integer, got {max_iters!r}")
    check_positive(rtol, "rtol", allow_zero=True)
    check_positive(atol, "atol", allow_zero=True)
    check_finite(b, "b")
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    if x.shape != b.shape:
        raise ValueError(f"x0: expected shape {tuple(b.shape)}, got {tuple(x.shape)}")
    check_finite(x, "x0")
    apply_m = M if M is not None else (lambda v: v)
    keep_set = set(keep or [])
    hist = CGHistory()

    r = b - matvec(x) if x0 is not None else b.clone()
    z = apply_m(r)
    p = z.clone()
    rz = float(r @ z)
    tol = max(rtol * float(b.norm()), atol)
    hist.residual_norms.append(float(r.norm()))
    hist.phi.append(-0.5 * float(x @ (b + r)))
    if 0 in keep_set:
        hist.kept[0] = x.clone()
    if hist.residual_norms[0] <= tol:
        hist.stop_reason = "converged"
        hist.kept[0] = x.clone()
        return x, hist
    for i in range(1, max_iters + 1):
        ap = matvec(p)
        curv = float(p @ ap)
        if not math.isfinite(curv):
            raise ValueError(f"matvec: the product A p at CG iteration {i} contains NaN or inf (p^T A p = {curv})")
        if not curv > 0:
            hist.stop_reason = "non-positive curvature"
            break
        alpha = rz / curv
        x = x + alpha * p
        r_new = r - alpha * ap
        hist.s.append(alpha * p)
        hist.y.append(alpha * ap)
        if on_pair is not None:
            on_pair(hist.s[-1], hist.y[-1])
        hist.residual_norms.append(float(r_new.norm()))
        hist.phi.append(-0.5 * float(x @ (b + r_new)))
        if i in keep_set:
            hist.kept[i] = x.clone()
        if hist.residual_norms[-1] <= tol:
            hist.stop_reason = "converged"
            break
        if martens and martens_should_stop(hist.phi, martens_eps):
            hist.stop_reason = "Martens' relative-progress rule"
            break
        z_new = apply_m(r_new)
        rz_new = float(r_new @ z_new)
        beta = (float(z_new @ (r_new - r)) if flexible else rz_new) / rz
        p = z_new + beta * p
        r, rz = r_new, rz_new
    else:
        hist.stop_reason = f"max_iters = {max_iters}"
    hist.kept[hist.iterations] = x.clone()
    return x, hist
