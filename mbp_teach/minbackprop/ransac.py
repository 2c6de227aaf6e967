"""Hypothesise and verify: the pose estimate used to evaluate a sampler.

For each image pair: draw K minimal sets (by the network's scores, or uniformly for the
no-learning baseline), solve each with ``five_point`` (up to 10 essential matrices per set), count
for every hypothesis the correspondences whose Sampson distance is below a threshold, keep the
hypothesis with most inliers, and recover (R, t) from it with the cheirality test. Evaluation
needs no gradient; it runs under ``torch.no_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mbp_teach import validation as val
from mbp_teach.minbackprop.pose import pose_errors, pose_from_essential
from mbp_teach.minbackprop.sampling import draw_minimal_sets
from mbp_teach.solvers import five_point, sampson_distance


@dataclass
class PoseEstimate:
    E: torch.Tensor  # (B, 3, 3)
    R: torch.Tensor  # (B, 3, 3)
    t: torch.Tensor  # (B, 3)
    inliers: torch.Tensor  # (B, N) bool: the winning hypothesis's inliers


def check_correspondences(x1: torch.Tensor, x2: torch.Tensor, minimum: int = 5) -> None:
    """Batched (B, N, 2) correspondences with N >= ``minimum``; clear errors otherwise."""
    for name, x in (("x1", x1), ("x2", x2)):
        val.check_shape(x, name, (None, None, 2), min_dims=3)
        if x.dim() != 3:
            raise ValueError(f"{name}: expected shape (B, N, 2), got {tuple(x.shape)}")
        val.check_finite(x, name)
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2: shapes must match, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    if x1.shape[1] < minimum:
        raise ValueError(f"x1, x2: too few correspondences, need at least {minimum} per pair, got {x1.shape[1]}")


@torch.no_grad()
def estimate_pose(x1: torch.Tensor, x2: torch.Tensor, logits: torch.Tensor | None = None, *,
                  n_hypotheses: int = 32, threshold: float = 0.004,
                  generator: torch.Generator | None = None) -> PoseEstimate:
    """RANSAC-style pose for each pair of x1, x2 (B, N, 2) in normalised coordinates.

    ``logits`` (B, N) set the sampling distribution softmax(logits); None samples uniformly.
    ``threshold`` is on the Sampson distance (normalised units: pixels / focal length).
    """
    check_correspondences(x1, x2)
    val.check_positive(threshold, "threshold")
    logits = torch.zeros(x1.shape[:2], dtype=x1.dtype) if logits is None else logits.detach()
    sets = draw_minimal_sets(logits, n_hypotheses, generator=generator)
    idx = sets.index.unsqueeze(-1).expand(*sets.index.shape, 2)  # (B, K, 5, 2)
    s1 = torch.gather(x1.unsqueeze(1).expand(-1, n_hypotheses, -1, -1), 2, idx)
    s2 = torch.gather(x2.unsqueeze(1).expand(-1, n_hypotheses, -1, -1), 2, idx)
    E, valid = five_point(s1, s2)  # (B, K, 10, 3, 3)
    B = x1.shape[0]
    E = E.reshape(B, -1, 3, 3)
    valid = valid.reshape(B, -1)
    d = sampson_distance(E, x1.unsqueeze(1), x2.unsqueeze(1))  # (B, H, N)
    inl = (d < threshold**2) & valid.unsqueeze(-1)
    best = inl.sum(-1).argmax(-1)  # (B,)
    E_best = E[torch.arange(B), best]
    inliers = inl[torch.arange(B), best]
    R, t = pose_from_essential(E_best, x1, x2, inliers)
    return PoseEstimate(E_best, R, t, inliers)


def evaluate(scene, logits: torch.Tensor | None, *, n_hypotheses: int = 32, threshold_px: float = 2.0,
             seed: int = 0) -> dict[str, torch.Tensor]:
    """Rotation and translation errors (degrees, (B,)) of ``estimate_pose`` on a TwoView batch."""
    focal = float(scene.K[0, 0])
    est = estimate_pose(scene.x1, scene.x2, logits, n_hypotheses=n_hypotheses, threshold=threshold_px / focal,
                        generator=torch.Generator().manual_seed(seed))
    r_err, t_err = pose_errors(est.R, est.t, scene.R, scene.t)
    return {"rotation": r_err, "translation": t_err, "pose": torch.maximum(r_err, t_err)}
