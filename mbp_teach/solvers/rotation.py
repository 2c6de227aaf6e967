"""Weighted Kabsch: the rotation that best maps one point set onto another.

Minimise sum_i w_i ||R p_i - q_i||^2 over rotations R (R^T R = I, det R = +1). Expanding,
this is maximising tr(R^T M) with M = sum_i w_i q_i p_i^T. With the SVD M = U S V^T the
answer is R = U diag(1, 1, d) V^T, d = det(U V^T): d = -1 replaces the best *orthogonal*
matrix, a reflection, by the best rotation (flipping the direction of least singular value).
The rotation is unique when M has rank >= 2, i.e. the weighted points span a plane.

``rigid_transform`` adds a translation: centring both sets on their weighted centroids
separates it, t = q_bar - R p_bar.
"""

from __future__ import annotations

import torch

from mbp_teach.gradients.backward import check_mode, dispatch
from mbp_teach.solvers import _checks


def cross_covariance(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """M = sum_i w_i q_i p_i^T, (..., 3, 3)."""
    return torch.einsum("...n,...ni,...nj->...ij", w, Q, P)


def _kabsch_forward(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The weighted Kabsch rotation, plain autograd-differentiable; inputs already validated.

    P, Q: (..., N, 3); w: (..., N) non-negative. Returns R (..., 3, 3) with det R = +1.
    Autograd goes through ``torch.linalg.svd``; its gradient carries 1/(s_i^2 - s_j^2) and is
    unstable when two singular values of M meet.
    """
    U, _, Vh = torch.linalg.svd(cross_covariance(P, Q, w))
    # d is +-1 and locally constant: it has no gradient, and detaching avoids det's backward.
    d = torch.linalg.det(U @ Vh).detach().sign()
    ones = torch.ones_like(d)
    return (U * torch.stack([ones, ones, d], dim=-1).unsqueeze(-2)) @ Vh


def weighted_centroid(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_i w_i x_i / sum_i w_i, (..., 3)."""
    return (w.unsqueeze(-1) * X).sum(-2) / w.sum(-1, keepdim=True)


def _rigid_forward(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) minimising sum_i w_i ||R p_i + t - q_i||^2; inputs already validated."""
    p_bar, q_bar = weighted_centroid(P, w), weighted_centroid(Q, w)
    R = _kabsch_forward(P - p_bar.unsqueeze(-2), Q - q_bar.unsqueeze(-2), w)
    t = q_bar - (R @ p_bar.unsqueeze(-1)).squeeze(-1)
    return R, t


def _validate(P, Q, w, centred: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    need = 3 if centred else 2
    P = _checks.points(P, "P", 3, need)
    Q = _checks.points(Q, "Q", 3, need)
    P, Q = _checks.pair(P, Q, ("P", "Q"))
    w = _checks.weights(w, P, need)
    with torch.no_grad():
        Pd, Qd, wd = P.detach(), Q.detach(), w.detach()
        if centred:
            Pd = Pd - weighted_centroid(Pd, wd).unsqueeze(-2)
            Qd = Qd - weighted_centroid(Qd, wd).unsqueeze(-2)
        s = torch.linalg.svdvals(cross_covariance(Pd, Qd, wd))
    where = "about their weighted centroid " if centred else "about the origin "
    _checks.fail_where(_checks.rank_deficient(s, 1),
                       f"P, Q: the weighted points {where}are collinear or coincident (cross-covariance rank < 2), "
                       "so the rotation is not determined")
    return P, Q, w


def kabsch(P, Q, w=None, *, backward: str = "autograd") -> torch.Tensor:
    """Rotation R (..., 3, 3), det R = +1, minimising sum_i w_i ||R p_i - q_i||^2 (about the origin).

    P, Q: (..., N, 3), N >= 2; w: (..., N) non-negative, default ones. ``backward`` selects the
    gradient ("autograd", "ift", "ddn"; see ``mbp_teach.gradients.backward``).
    Raises ValueError for wrong shapes, NaN/inf, negative or all-zero weights, and point sets
    whose weighted cross-covariance has rank < 2 (collinear through the origin, or coincident).
    """
    check_mode(backward)
    P, Q, w = _validate(P, Q, w, centred=False)
    return dispatch("kabsch", _kabsch_forward, (P, Q, w), backward)


def rigid_transform(P, Q, w=None, *, backward: str = "autograd") -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) with R (..., 3, 3), t (..., 3) minimising sum_i w_i ||R p_i + t - q_i||^2.

    As ``kabsch``, but the points are centred first, so N >= 3 and the centred sets must not be
    collinear.
    """
    check_mode(backward)
    P, Q, w = _validate(P, Q, w, centred=True)
    return dispatch("rigid_transform", _rigid_forward, (P, Q, w), backward)
