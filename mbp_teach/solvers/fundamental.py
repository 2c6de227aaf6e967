"""The weighted, Hartley-normalised 8-point algorithm for the fundamental matrix.

Steps (each a function here):
1. ``hartley_normalisation``: move each image's weighted centroid to the origin and scale so
   the weighted RMS distance is sqrt(2); pixel coordinates (hundreds) would otherwise make
   the 9 columns of the epipolar matrix differ by 10^5 in scale and the solution inaccurate.
2. ``least_squares_f``: the unit vector f minimising sum_i w_i (a_i . f)^2, rows
   a_i = kron(x2h_i, x1h_i): the eigenvector of least eigenvalue of ``weighted_moment``
   A^T W A = sum_i w_i a_i a_i^T, which is linear in w, so its gradient with respect to a weight
   is finite even at w_i = 0. Its *value* is taken from the SVD of W^(1/2) A, which is accurate to
   eps * cond(A) instead of eps * cond(A)^2 (it matters for exactly 8 points);
4. ``enforce_rank2``: zero the least singular value (every fundamental matrix has rank 2);
5. undo the normalisation, F = T2^T F_n T1, and scale to unit Frobenius norm.
The sign of F is not determined (F and -F are the same epipolar geometry).
"""

from __future__ import annotations

import torch

from mbp_teach.gradients.backward import check_mode, dispatch
from mbp_teach.solvers import _checks
from mbp_teach.solvers.epipolar import epipolar_rows

MIN_POINTS = 8


def hartley_normalisation(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_n, T): x_n = T xh with weighted centroid 0 and weighted RMS distance sqrt(2); T (..., 3, 3)."""
    wsum = w.sum(-1, keepdim=True)
    c = (w.unsqueeze(-1) * x).sum(-2) / wsum  # (..., 2)
    d = x - c.unsqueeze(-2)
    ms = (w * (d**2).sum(-1)).sum(-1, keepdim=True) / wsum  # weighted mean squared distance
    s = torch.sqrt(2.0 / ms)  # (..., 1)
    zero, one = torch.zeros_like(s), torch.ones_like(s)
    T = torch.stack([torch.cat([s, zero, -s * c[..., :1]], -1),
                     torch.cat([zero, s, -s * c[..., 1:]], -1),
                     torch.cat([zero, zero, one], -1)], dim=-2)
    return s.unsqueeze(-1) * d, T


def weighted_moment(x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """A^T diag(w) A, (..., 9, 9), with A the epipolar rows of (x1, x2)."""
    A = epipolar_rows(x1, x2)
    return (A * w.unsqueeze(-1)).transpose(-1, -2) @ A


def _square_factor(A: torch.Tensor) -> torch.Tensor:
    """R of A = QR when A has more than 9 rows: same singular values and right vectors, 9x9 (cheaper SVD)."""
    return torch.linalg.qr(A, mode="r").R if A.shape[-2] > 9 else A


def least_squares_f(n1: torch.Tensor, n2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Unit f (..., 9) minimising sum_i w_i (a_i . f)^2: value from the SVD of W^(1/2) A, gradient from eigh.

    Both compute the same function of the inputs; ``f_eigh + (f_svd - f_eigh).detach()`` keeps the
    accurate value and the gradient of the eigenvector of A^T W A (sqrt(w) has no derivative at 0).
    """
    _, V = torch.linalg.eigh(weighted_moment(n1, n2, w))
    f = V[..., :, 0]
    with torch.no_grad():
        A = w.detach().sqrt().unsqueeze(-1) * epipolar_rows(n1.detach(), n2.detach())
        f_svd = torch.linalg.svd(_square_factor(A), full_matrices=A.shape[-2] < 9).Vh[..., -1, :]
        f_svd = f_svd * torch.where((f_svd * f.detach()).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    return f + (f_svd - f.detach())


def enforce_rank2(F: torch.Tensor) -> torch.Tensor:
    """The nearest rank-2 matrix in Frobenius norm: U diag(s1, s2, 0) V^T."""
    U, S, Vh = torch.linalg.svd(F)
    S = torch.cat([S[..., :2], torch.zeros_like(S[..., 2:])], dim=-1)
    return (U * S.unsqueeze(-2)) @ Vh


def _eight_point_forward(x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """F (..., 3, 3), rank 2, unit Frobenius norm, minimising sum_i w_i (x2h^T F x1h)^2 in
    normalised coordinates; inputs already validated. Plain autograd-differentiable
    (through eigh and svd; eigh's gradient needs the two least eigenvalues distinct).
    """
    n1, T1 = hartley_normalisation(x1, w)
    n2, T2 = hartley_normalisation(x2, w)
    Fn = enforce_rank2(least_squares_f(n1, n2, w).unflatten(-1, (3, 3)))
    F = T2.transpose(-1, -2) @ Fn @ T1
    return F / torch.linalg.matrix_norm(F).unsqueeze(-1).unsqueeze(-1)


def _validate(x1, x2, w) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x1 = _checks.points(x1, "x1", 2, MIN_POINTS)
    x2 = _checks.points(x2, "x2", 2, MIN_POINTS)
    x1, x2 = _checks.pair(x1, x2, ("x1", "x2"))
    w = _checks.weights(w, x1, MIN_POINTS)
    with torch.no_grad():
        wd = w.detach()
        for name, x in (("x1", x1), ("x2", x2)):
            c = (wd.unsqueeze(-1) * x.detach()).sum(-2) / wd.sum(-1, keepdim=True)
            spread = (wd * ((x.detach() - c.unsqueeze(-2)) ** 2).sum(-1)).sum(-1)
            _checks.fail_where(spread <= 0, f"{name}: all weighted points coincide")
        n1, _ = hartley_normalisation(x1.detach(), wd)
        n2, _ = hartley_normalisation(x2.detach(), wd)
        s = torch.linalg.svdvals(_square_factor(wd.sqrt().unsqueeze(-1) * epipolar_rows(n1, n2)))
    _checks.fail_where(_checks.rank_deficient(s, 7),
                       "x1, x2: the weighted epipolar system has rank < 8 (degenerate configuration, "
                       "e.g. points on a line), so F is not determined")
    return x1, x2, w


def eight_point(x1, x2, w=None, *, backward: str = "autograd") -> torch.Tensor:
    """Fundamental matrix F (..., 3, 3) with x2h^T F x1h = 0: rank 2, unit Frobenius norm, sign arbitrary.

    x1, x2: (..., N, 2) corresponding points, N >= 8; w: (..., N) non-negative, default ones;
    the algebraic error sum_i w_i (x2h_i^T F x1h_i)^2 is minimised in Hartley-normalised
    coordinates. Raises ValueError for wrong shapes, NaN/inf, negative or all-zero weights,
    fewer than 8 points of non-zero weight, and configurations of rank < 8.
    """
    check_mode(backward)
    x1, x2, w = _validate(x1, x2, w)
    return dispatch("eight_point", _eight_point_forward, (x1, x2, w), backward)
