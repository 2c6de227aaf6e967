"""Relative pose from an essential matrix, and how far it is from the truth.

E = [t]_x R has four (R, t) factorisations: with E = U diag(1, 1, 0) V^T (det U, det V > 0)
and W the rotation by 90 degrees about z, R is U W V^T or U W^T V^T and t is +-u_3. Only one
puts the points in front of both cameras (cheirality): for camera 1 = [I | 0], camera 2 = [R | t]
the depths d1, d2 of a correspondence solve d2 x2h = d1 R x1h + t.

Errors follow the usual benchmark conventions (e.g. SuperGlue's evaluation): rotation error is
the angle of R_est R_true^T; translation error is the angle between the directions, taking the
smaller of a and 180 - a because the scale (and sign) of t is not observable from E alone; the
pose error is the larger of the two, and AUC@T is the area under the recall-vs-threshold curve
up to T degrees, divided by T.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from mbp_teach import validation as val
from mbp_teach.data import rotation_angle
from mbp_teach.solvers import homogeneous

_W = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def rotation_error_deg(R_est: torch.Tensor, R_true: torch.Tensor) -> torch.Tensor:
    """Angle in degrees of R_est R_true^T, (...)."""
    return torch.rad2deg(rotation_angle(R_est, R_true))


def translation_error_deg(t_est: torch.Tensor, t_true: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between translation directions, min(a, 180 - a) (sign not observable)."""
    cos = (t_est * t_true).sum(-1) / (t_est.norm(dim=-1) * t_true.norm(dim=-1)).clamp_min(1e-300)
    a = torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))
    return torch.minimum(a, 180.0 - a)


def decompose_essential(E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The four candidate poses of E (..., 3, 3): R (..., 4, 3, 3), t (..., 4, 3) with |t| = 1."""
    U, _, Vh = torch.linalg.svd(E)
    # Make U and V proper rotations; flipping the sign of a factor only flips E's sign.
    U = U * torch.linalg.det(U).sign()[..., None, None]
    Vh = Vh * torch.linalg.det(Vh).sign()[..., None, None]
    W = _W.to(E)
    Ra = U @ W @ Vh
    Rb = U @ W.transpose(0, 1) @ Vh
    u3 = U[..., :, 2]
    R = torch.stack([Ra, Ra, Rb, Rb], dim=-3)
    t = torch.stack([u3, -u3, u3, -u3], dim=-2)
    return R, t


def depths(R: torch.Tensor, t: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares depths (d1, d2), each (..., N), with d2 x2h ~ d1 R x1h + t.

    R (..., 3, 3), t (..., 3), x1, x2 (..., N, 2) normalised coordinates.
    """
    a = torch.einsum("...ij,...nj->...ni", R, homogeneous(x1))  # R x1h
    b = homogeneous(x2)
    # minimise |d1 a - d2 b + t|^2: 2x2 normal equations per correspondence
    aa, bb, ab = (a * a).sum(-1), (b * b).sum(-1), (a * b).sum(-1)
    at, bt = (a * t.unsqueeze(-2)).sum(-1), (b * t.unsqueeze(-2)).sum(-1)
    det = aa * bb - ab * ab
    det = torch.where(det.abs() > 1e-15, det, torch.full_like(det, 1e-15))
    d1 = (-at * bb + ab * bt) / det
    d2 = (aa * bt - ab * at) / det
    return d1, d2


def pose_from_essential(E: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor,
                        mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidate (R, t) of E with most correspondences in front of both cameras.

    E (..., 3, 3); x1, x2 (..., N, 2); mask (..., N) bool restricts the vote (e.g. to inliers).
    Returns R (..., 3, 3), t (..., 3).
    """
    R, t = decompose_essential(E)
    d1, d2 = depths(R, t, x1.unsqueeze(-3), x2.unsqueeze(-3))  # (..., 4, N)
    front = (d1 > 0) & (d2 > 0)
    if mask is not None:
        front = front & mask.unsqueeze(-2)
    best = front.sum(-1).argmax(-1)  # (...)
    idx = best[..., None, None, None].expand(*best.shape, 1, 3, 3)
    R_best = torch.gather(R, -3, idx).squeeze(-3)
    t_best = torch.gather(t, -2, best[..., None, None].expand(*best.shape, 1, 3)).squeeze(-2)
    return R_best, t_best


def pose_errors(R_est, t_est, R_true, t_true) -> tuple[torch.Tensor, torch.Tensor]:
    """(rotation error, translation error) in degrees."""
    return rotation_error_deg(R_est, R_true), translation_error_deg(t_est, t_true)


def pose_auc(errors, thresholds: Sequence[float] = (5.0, 10.0, 20.0)) -> list[float]:
    """AUC of the recall curve of ``errors`` (degrees) up to each threshold, in [0, 1].

    recall(e) = share of errors <= e; AUC@T = (1/T) * integral_0^T recall(e) de, integrated
    exactly (recall is a step function). Non-finite errors count as failures.
    """
    e = val.as_tensor(errors, "errors").detach().flatten().double()
    if e.numel() == 0:
        raise ValueError("errors: need at least one error to compute an AUC")
    e = torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf))
    e, _ = torch.sort(e)
    n = e.numel()
    out = []
    for T in thresholds:
        val.check_positive(float(T), "threshold")
        kept = e[e < T].tolist()
        # recall jumps to (i+1)/n at kept[i]; area = sum_i (i+1)/n * (next - kept[i])
        edges = kept + [T]
        area = sum((i + 1) / n * (edges[i + 1] - edges[i]) for i in range(len(kept)))
        out.append(area / T)
    return out
