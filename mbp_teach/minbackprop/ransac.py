"""Hypothesise and verify: the pose estimate used to evaluate a sampler.

The loop is ``solvers.ransac.Ransac``'s (K minimal sets per pair, ``five_point`` on each, the
hypothesis with most Sampson inliers wins); ``ScoredRansac`` only changes how the sets are drawn:
by the network's scores, softmax(logits) (``sampling.draw_minimal_sets``), or uniformly for the
no-learning baseline. ``estimate_pose`` then recovers (R, t) from the winning E with the
cheirality test. Evaluation needs no gradient; it runs under ``torch.no_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mbp_teach import validation as val
from mbp_teach.minbackprop.pose import pose_errors, pose_from_essential
from mbp_teach.minbackprop.sampling import draw_minimal_sets
from mbp_teach.solvers import five_point, sampson_distance
from mbp_teach.solvers.ransac import Ransac


@dataclass
class PoseEstimate:
    E: torch.Tensor  # (B, 3, 3)
    R: torch.Tensor  # (B, 3, 3)
    t: torch.Tensor  # (B, 3)
    inliers: torch.Tensor  # (B, N) bool: the winning hypothesis's inliers


class ScoredRansac(Ransac):
    """``Ransac`` drawing its minimal sets from softmax(logits (B, N)) with ``generator``."""

    def __init__(self, logits: torch.Tensor, threshold: float, iterations: int,
                 generator: torch.Generator | None = None):
        super().__init__(threshold, iterations)
        self.logits, self.generator = logits, generator

    def sample(self, x1: torch.Tensor) -> torch.Tensor:
        return draw_minimal_sets(self.logits, self.iterations, generator=self.generator).index


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
    ``n_hypotheses`` minimal sets per pair; ``threshold`` is on the Sampson distance (normalised
    units: pixels / focal length).
    """
    check_correspondences(x1, x2)
    val.check_positive(threshold, "threshold")
    logits = torch.zeros(x1.shape[:2], dtype=x1.dtype) if logits is None else logits.detach()
    best = ScoredRansac(logits, threshold, n_hypotheses, generator).run(x1, x2)
    R, t = pose_from_essential(best.E, x1, x2, best.inlier)
    return PoseEstimate(best.E, R, t, best.inlier)


def evaluate(scene, logits: torch.Tensor | None, *, n_hypotheses: int = 32, threshold_px: float = 2.0,
             seed: int = 0) -> dict[str, torch.Tensor]:
    """Rotation and translation errors (degrees, (B,)) of ``estimate_pose`` on a TwoView batch."""
    focal = float(scene.K[0, 0])
    est = estimate_pose(scene.x1, scene.x2, logits, n_hypotheses=n_hypotheses, threshold=threshold_px / focal,
                        generator=torch.Generator().manual_seed(seed))
    r_err, t_err = pose_errors(est.R, est.t, scene.R, scene.t)
    return {"rotation": r_err, "translation": t_err, "pose": torch.maximum(r_err, t_err)}


CHUNK = 20_000_000  # Sampson distances held at once by evaluate_budgets (160 MB in float64)


@torch.no_grad()
def evaluate_budgets(scene, logits: torch.Tensor | None, budgets, *, threshold_px: float = 2.0,
                     seed: int = 0) -> dict[int, torch.Tensor]:
    """Pose errors (degrees, (B,), max of rotation and translation) for each RANSAC budget in ``budgets``.

    One run draws max(budgets) minimal sets per pair (by softmax(logits); uniformly for None) and
    scores them all; the estimate with budget h keeps the best of the *first* h sets. The sets
    are independent draws, so the first h of them are an h-set draw: every budget costs one run
    of the largest.
    """
    budgets = sorted({int(h) for h in budgets})
    if not budgets or budgets[0] < 1:
        raise ValueError(f"budgets: need positive numbers of hypotheses, got {budgets!r}")
    x1, x2 = scene.x1, scene.x2
    check_correspondences(x1, x2)
    threshold = threshold_px / float(scene.K[0, 0])
    logits = torch.zeros(x1.shape[:2], dtype=x1.dtype) if logits is None else logits.detach()
    idx = draw_minimal_sets(logits, budgets[-1], generator=torch.Generator().manual_seed(seed)).index
    B, N = x1.shape[:2]
    chunk = max(1, CHUNK // (budgets[-1] * 10 * N))  # pairs per pass, so the Sampson table stays small
    E_best = {h: [] for h in budgets}
    inlier = {h: [] for h in budgets}
    for b in range(0, B, chunk):
        rows = slice(b, b + chunk)
        ix = idx[rows].unsqueeze(-1)
        E, valid = five_point(torch.take_along_dim(x1[rows].unsqueeze(-3), ix, dim=-2),
                              torch.take_along_dim(x2[rows].unsqueeze(-3), ix, dim=-2))  # (b, H, 10, 3, 3)
        E = E.flatten(-4, -3)  # (b, 10 H, 3, 3): set k's solutions are rows 10 k ... 10 k + 9
        d = sampson_distance(E, x1[rows].unsqueeze(-3), x2[rows].unsqueeze(-3))  # (b, 10 H, N)
        ins = (d < threshold**2) & valid.flatten(-2).unsqueeze(-1)
        count = ins.sum(-1)
        at = torch.arange(E.shape[0])
        for h in budgets:
            best = count[:, : 10 * h].argmax(-1)  # the first of the largest counts among the first h sets
            E_best[h].append(E[at, best])
            inlier[h].append(ins[at, best])
    out = {}
    for h in budgets:
        R, t = pose_from_essential(torch.cat(E_best[h]), x1, x2, torch.cat(inlier[h]))
        r_err, t_err = pose_errors(R, t, scene.R, scene.t)
        out[h] = torch.maximum(r_err, t_err)
    return out
