"""RANSAC around the 5-point solver: why minimal solvers matter.

A hypothesis is only good when its whole sample is outlier-free, which for an inlier ratio r
and sample size s happens with probability about r^s. To find one clean sample with
confidence p, RANSAC needs k = log(1 - p) / log(1 - r^s) samples: at r = 0.5 and p = 0.99 that
is 146 samples of 5 points but 1177 of 8. Smaller samples, exponentially fewer trials: that is
why solvers using the *minimal* number of points are worth their algebra.

``ransac_essential`` runs every sample of every pair in one batched ``five_point`` call (no
Python loop over iterations), scores all hypotheses by Sampson distance, keeps the one with
most inliers, and refits F on those inliers with the weighted 8-point algorithm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mbp_teach import validation as val
from mbp_teach.data import generator
from mbp_teach.solvers import eight_point, five_point, sampson_distance


def iterations_needed(inlier_ratio: float, sample_size: int, confidence: float = 0.99) -> int:
    """k = ceil(log(1 - p) / log(1 - r^s)): samples needed to draw one clean sample with probability p."""
    val.check_range(inlier_ratio, "inlier_ratio", 0.0, 1.0, closed="right")
    val.check_range(confidence, "confidence", 0.0, 1.0, closed="neither")
    clean = inlier_ratio**sample_size
    if clean >= 1.0:
        return 1
    return math.ceil(math.log(1 - confidence) / math.log1p(-clean))


def sample_indices(n: int, size: int, iterations: int, batch: tuple[int, ...], seed=0) -> torch.Tensor:
    """(*batch, iterations, size) indices, each row ``size`` distinct points out of n."""
    if size > n:
        raise ValueError(f"need at least {size} correspondences for a sample, got {n}")
    keys = torch.rand(tuple(batch) + (iterations, n), generator=generator(seed))
    return keys.argsort(dim=-1)[..., :size]


@dataclass
class RansacResult:
    """Best hypothesis per pair: E (..., 3, 3) from 5 points, its inliers, and the refitted F."""

    E: torch.Tensor  # (..., 3, 3), unit Frobenius norm
    inlier: torch.Tensor  # (..., N) bool, Sampson distance below the threshold
    count: torch.Tensor  # (...,) number of inliers
    refit: torch.Tensor  # (..., 3, 3) weighted 8-point on the inliers (normalised coordinates)
    hypotheses: int  # valid hypotheses scored per pair, on average


def ransac_essential(x1, x2, *, iterations: int = 100, threshold: float = 2e-3, seed=0) -> RansacResult:
    """RANSAC for E from normalised correspondences x1, x2 (..., N, 2), N >= 8.

    ``threshold``: on the Sampson distance, in normalised units (pixels / focal length).
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations: expected an int >= 1, got {iterations!r}")
    val.check_positive(threshold, "threshold")
    x1, x2 = val.as_tensor(x1, "x1"), val.as_tensor(x2, "x2")
    val.check_shape(x1, "x1", (None, 2))
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2: shapes must match, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    batch, n = x1.shape[:-2], x1.shape[-2]
    if n < 8:
        raise ValueError(f"x1: too few points, need at least 8, got {n}")
    idx = sample_indices(n, 5, iterations, batch, seed)  # (..., k, 5)

    def pick(x):
        return torch.gather(x.unsqueeze(-3).expand(*batch, iterations, n, 2), -2,
                            idx.unsqueeze(-1).expand(*idx.shape, 2))

    E, valid = five_point(pick(x1), pick(x2))  # (..., k, 10, 3, 3)
    d = sampson_distance(E, x1[..., None, None, :, :], x2[..., None, None, :, :])  # (..., k, 10, N)
    inl = (d < threshold**2) & valid.unsqueeze(-1)
    counts = inl.sum(-1).flatten(-2)  # (..., k * 10)
    best = counts.argmax(-1)  # first of the largest
    E_best = torch.gather(E.flatten(-4, -3), -3, best[..., None, None, None].expand(*batch, 1, 3, 3)).squeeze(-3)
    inlier = torch.gather(inl.flatten(-3, -2), -2, best[..., None, None].expand(*batch, 1, n)).squeeze(-2)
    count = inlier.sum(-1)
    w = inlier.to(x1.dtype)
    if bool((count < 8).any()):
        raise ValueError(f"RANSAC found fewer than 8 inliers for {int((count < 8).sum())} pair(s): "
                         "raise the threshold or the iterations")
    refit = eight_point(x1, x2, w)
    return RansacResult(E_best, inlier, count, refit, int(valid.sum(-1).sum(-1).float().mean()))
