"""RANSAC around the 5-point solver: why minimal solvers matter.

A hypothesis is only good when its whole sample is outlier-free, which for an inlier ratio r
and sample size s happens with probability about r^s. To find one clean sample with
confidence p, RANSAC needs k = log(1 - p) / log(1 - r^s) samples: at r = 0.5 and p = 0.99 that
is 146 samples of 5 points but 1177 of 8. Smaller samples, exponentially fewer trials: that is
why solvers using the *minimal* number of points are worth their algebra.

``Ransac.run`` is the hypothesise-score-select loop every RANSAC of the course shares: K minimal
sets of 5 per pair, every set solved in one batched ``five_point`` call (no Python loop over
iterations, up to 10 essential matrices per set), every hypothesis scored by the number of
correspondences whose Sampson distance is below the threshold, and the first one with most
inliers kept. A variant overrides one step: ``Ransac.sample`` draws uniformly (below);
``mbp_teach.minbackprop.ransac`` draws by a network's scores. ``ransac_essential`` is the plain
loop followed by a weighted 8-point refit of F on the winner's inliers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mbp_teach import validation as val
from mbp_teach.data import generator
from mbp_teach.solvers import eight_point, five_point, sampson_distance

SAMPLE_SIZE = 5  # five_point's minimal set


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
class Consensus:
    """The winning hypothesis per pair, and how many hypotheses took part."""

    E: torch.Tensor  # (..., 3, 3) unit Frobenius norm
    inlier: torch.Tensor  # (..., N) bool: Sampson distance below the threshold
    count: torch.Tensor  # (...,) number of inliers
    hypotheses: int  # real solutions scored per pair, on average


class Ransac:
    """Hypothesise, score, select for E from normalised correspondences x1, x2 (..., N, 2).

    ``threshold`` is on the Sampson distance, in normalised units (pixels / focal length);
    ``iterations`` minimal sets per pair. Override ``sample`` to draw the sets differently.
    """

    def __init__(self, threshold: float, iterations: int, seed=0):
        self.threshold, self.iterations, self.seed = threshold, iterations, seed

    def sample(self, x1: torch.Tensor) -> torch.Tensor:
        """(..., iterations, 5) indices of the minimal sets: uniform, distinct within a set."""
        return sample_indices(x1.shape[-2], SAMPLE_SIZE, self.iterations, x1.shape[:-2], self.seed)

    def run(self, x1: torch.Tensor, x2: torch.Tensor) -> Consensus:
        return select(*self.hypothesise(x1, x2, self.sample(x1)))

    def hypothesise(self, x1: torch.Tensor, x2: torch.Tensor, idx: torch.Tensor):
        """Solve the minimal sets idx (..., K, 5) and score every solution: E (..., H, 3, 3), inliers
        (..., H, N) bool and valid (..., H), H = 10 K (five_point's 10 slots per set, ``valid`` marks the real ones)."""
        E, valid = five_point(_pick(x1, idx), _pick(x2, idx))  # (..., K, 10, 3, 3), (..., K, 10)
        E, valid = E.flatten(-4, -3), valid.flatten(-2)  # H = 10 K hypotheses per pair
        d = sampson_distance(E, x1.unsqueeze(-3), x2.unsqueeze(-3))  # (..., H, N)
        return E, (d < self.threshold**2) & valid.unsqueeze(-1), valid


def select(E: torch.Tensor, inliers: torch.Tensor, valid: torch.Tensor) -> Consensus:
    """The hypothesis with most inliers (the first of equals), from ``Ransac.hypothesise``'s output.

    The hypotheses of the first k sets are a prefix of those of K > k sets drawn with the same seed, so
    ``select`` on that prefix is RANSAC with budget k (the panels of notebook 01 use this: a k move re-selects)."""
    best = inliers.sum(-1).argmax(-1, keepdim=True)  # (..., 1): the first of the largest counts
    E_best = torch.take_along_dim(E, best[..., None, None], dim=-3).squeeze(-3)
    inlier = torch.take_along_dim(inliers, best[..., None], dim=-2).squeeze(-2)
    return Consensus(E_best, inlier, inlier.sum(-1), int(valid.sum(-1).float().mean()))


def _pick(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Points (..., K, m, D) of x (..., N, D) at indices idx (..., K, m)."""
    return torch.take_along_dim(x.unsqueeze(-3), idx.unsqueeze(-1), dim=-2)


@dataclass
class RansacResult(Consensus):
    """``Consensus`` and F (..., 3, 3) refitted by the weighted 8-point on the inliers (normalised coordinates)."""

    refit: torch.Tensor


def ransac_essential(x1, x2, *, iterations: int = 100, threshold: float = 2e-3, seed=0) -> RansacResult:
    """RANSAC for E from normalised correspondences x1, x2 (..., N, 2), N >= 8, then the 8-point refit.

    ``threshold``: on the Sampson distance, in normalised units (pixels / focal length).
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations: expected an int >= 1, got {iterations!r}")
    val.check_positive(threshold, "threshold")
    x1, x2 = val.as_tensor(x1, "x1"), val.as_tensor(x2, "x2")
    val.check_shape(x1, "x1", (None, 2))
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2: shapes must match, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    if x1.shape[-2] < 8:
        raise ValueError(f"x1: too few points, need at least 8, got {x1.shape[-2]}")
    return refit(Ransac(threshold, iterations, seed).run(x1, x2), x1, x2)


def refit(best: Consensus, x1: torch.Tensor, x2: torch.Tensor) -> RansacResult:
    """The weighted 8-point F on the winner's inliers (normalised coordinates); fewer than 8 is an error."""
    if bool((best.count < 8).any()):
        raise ValueError(f"RANSAC found fewer than 8 inliers for {int((best.count < 8).sum())} pair(s): "
                         "raise the threshold or the iterations")
    F = eight_point(x1, x2, best.inlier.to(x1.dtype))
    return RansacResult(best.E, best.inlier, best.count, best.hypotheses, F)
