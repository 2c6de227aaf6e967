"""The learned outlier filter on a real stereo pair, beside uniform RANSAC at equal budgets.

The filter (``filter.OutlierFilter``) is trained on synthetic scenes only (``train.train``). Here it
scores the ORB matches of scikit-image's motorcycle pair (``solvers.stereo``), whose labels come
from the ground-truth disparity and whose true pose is known (rectified: R = I, t along x).

Two questions, each with a number a learner can check:

* **ranking**: of the matches the filter scores highest (the top ``top_fraction`` of them by logit),
  what share is a labelled inlier (precision), and what share of all labelled inliers is among them
  (recall)? Matches without a disparity (UNKNOWN) are scored by the filter but left out of both
  counts. A random ranking has precision = the inlier share and recall = ``top_fraction``.
* **pose**: RANSAC with H minimal sets drawn from softmax(logits) (``ransac.estimate_pose``) against
  H sets drawn uniformly, the same H for both (equal hypothesis budgets), repeated ``runs`` times
  with independent draws (one batch: every row of the batch is the same pair, drawn afresh). The
  errors are the rotation angle of R_est (the truth is I) and the angle between the estimated and
  the true translation direction, in degrees (``pose.pose_errors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from mbp_teach import validation as val
from mbp_teach.minbackprop.filter import OutlierFilter
from mbp_teach.minbackprop.pose import pose_auc, pose_errors
from mbp_teach.minbackprop.ransac import estimate_pose
from mbp_teach.solvers import stereo

THRESHOLD_PX = 2.0  # RANSAC's inlier threshold on the Sampson distance, pixels (training's evaluation uses 2 px)
BUDGETS = (1, 2, 4, 8, 16, 32, 64, 128)  # minimal sets per RANSAC run


def filter_logits(net: OutlierFilter, matches: stereo.Matches) -> torch.Tensor:
    """The filter's logits (N,) for the matches' normalised coordinates (no gradient)."""
    with torch.no_grad():
        return net(matches.x1[None].to(_dtype(net)), matches.x2[None].to(_dtype(net)))[0].double()


def _dtype(net: OutlierFilter) -> torch.dtype:
    return next(net.parameters()).dtype


@dataclass(frozen=True)
class Ranking:
    """How the filter's top-scored matches agree with the disparity labels."""

    top: int  # matches kept: the top_fraction of all N, by logit
    labelled_in_top: int  # of them, with a label (inlier or outlier)
    inliers_in_top: int
    inliers: int  # labelled inliers among all matches
    labelled: int  # labelled matches among all matches

    @property
    def precision(self) -> float:
        return self.inliers_in_top / self.labelled_in_top if self.labelled_in_top else float("nan")

    @property
    def recall(self) -> float:
        return self.inliers_in_top / self.inliers if self.inliers else float("nan")

    @property
    def chance_precision(self) -> float:
        """The precision of a random ranking: the inlier share of the labelled matches."""
        return self.inliers / self.labelled if self.labelled else float("nan")


def ranking(logits: torch.Tensor, label: torch.Tensor, top_fraction: float = 0.5) -> Ranking:
    """Precision and recall of the top ``top_fraction`` of the matches by ``logits`` (N,), against
    ``label`` (N,) (stereo.INLIER / OUTLIER / UNKNOWN; UNKNOWN is excluded from both counts).
    Ties are broken by index (a stable sort), so the result does not depend on the platform."""
    logits = val.as_tensor(logits, "logits")
    val.check_finite(logits, "logits")
    if logits.dim() != 1 or label.shape != logits.shape:
        raise ValueError(f"logits, label: expected equal shapes (N,), got {tuple(logits.shape)} and "
                         f"{tuple(label.shape)}")
    val.check_range(top_fraction, "top_fraction", 0.0, 1.0, closed="right")
    top = max(1, round(top_fraction * len(logits)))
    order = torch.sort(logits, descending=True, stable=True).indices[:top]
    chosen = label[order]
    return Ranking(top, int((chosen != stereo.UNKNOWN).sum()), int((chosen == stereo.INLIER).sum()),
                   int((label == stereo.INLIER).sum()), int((label != stereo.UNKNOWN).sum()))


def perplexity(logits: torch.Tensor) -> float:
    """exp(entropy of softmax(logits)): how many matches the sampler effectively draws from (N if uniform)."""
    logits = val.as_tensor(logits, "logits")
    val.check_finite(logits, "logits")
    logp = torch.log_softmax(logits, -1)
    return float(torch.exp(-(logp.exp() * logp).sum()))


def pose_runs(matches: stereo.Matches, logits: torch.Tensor | None, budget: int, runs: int, *,
              threshold_px: float = THRESHOLD_PX, seed: int = 0) -> dict[str, torch.Tensor]:
    """Rotation and translation errors (degrees, (runs,) each) of ``runs`` independent RANSAC runs with
    ``budget`` minimal sets each, drawn from softmax(logits) (uniformly for None)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs: need a positive integer, got {runs!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget: need a positive number of minimal sets, got {budget!r}")
    val.check_positive(threshold_px, "threshold_px")
    x1 = matches.x1.expand(runs, -1, -1)
    x2 = matches.x2.expand(runs, -1, -1)
    if logits is not None:
        logits = val.as_tensor(logits, "logits").double()
        if logits.shape != (len(matches),):
            raise ValueError(f"logits: expected shape ({len(matches)},), got {tuple(logits.shape)}")
        logits = logits.expand(runs, -1)
    est = estimate_pose(x1, x2, logits, n_hypotheses=budget, threshold=threshold_px / stereo.FOCAL,
                        generator=torch.Generator().manual_seed(seed))
    R, t = stereo.true_pose()
    r_err, t_err = pose_errors(est.R, est.t, R, t)
    return {"rotation": r_err, "translation": t_err}


def budget_curve(matches: stereo.Matches, logits: torch.Tensor | None, budgets: Iterable[int] = BUDGETS,
                 runs: int = 50, *, threshold_px: float = THRESHOLD_PX, seed: int = 0,
                 progress=None) -> dict[int, dict[str, list[float]]]:
    """``pose_runs`` at every budget (each with its own draws, seed + budget): budget -> errors as lists."""
    out = {}
    for h in sorted({int(b) for b in budgets}):
        errs = pose_runs(matches, logits, h, runs, threshold_px=threshold_px, seed=seed + h)
        out[h] = {k: v.tolist() for k, v in errs.items()}
        if progress is not None:
            progress()
    return out


def summary(errors: dict[str, Sequence[float]], threshold: float = 10.0) -> dict[str, float]:
    """Median rotation and translation errors (degrees) over the runs, and AUC@threshold of the pose error
    max(rotation, translation) (``pose.pose_auc``: 1 when every run is exact, 0 when none is within threshold)."""
    r = torch.as_tensor(errors["rotation"], dtype=torch.float64)
    t = torch.as_tensor(errors["translation"], dtype=torch.float64)
    if r.numel() == 0 or r.shape != t.shape:
        raise ValueError("errors: need equally many rotation and translation errors, at least one")
    return {"rotation_median": float(r.median()), "translation_median": float(t.median()),
            "auc": pose_auc(torch.maximum(r, t), (threshold,))[0], "runs": int(r.numel())}
