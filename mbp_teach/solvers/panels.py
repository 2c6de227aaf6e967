"""Noise and outlier sliders on a two-view scene (notebook 01): 8-point on everything vs RANSAC.

Every setting regenerates the same scene (fixed seed: the same points, the same noise directions,
nested outlier sets) with the chosen pixel noise and outlier fraction, then solves it two ways:
the weighted 8-point algorithm on all correspondences, and RANSAC over the 5-point solver followed
by an 8-point refit on its inliers. The left view shows image 2 with the epipolar lines of both
estimates for a few true inliers; the right view the median epipolar (Sampson) error of the true
inliers in pixels.

RANSAC with budget k scores the first k minimal sets of one seeded stream of sets, as a RANSAC loop
would draw them one after another. So a move of k solves only the sets not solved yet for this scene,
and moving k back re-selects among hypotheses already scored (``HypothesisStream``): the same answer
as ``ransac_essential(iterations=k)``, which a test checks.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from mbp_teach import data
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure
from mbp_teach.solvers import eight_point, sampson_distance
from mbp_teach.solvers.plots import epipolar_lines
from mbp_teach.solvers.ransac import SAMPLE_SIZE, Ransac, RansacResult, refit, sample_indices, select

FLOOR = 1e-3  # pixels: errors below are drawn at the floor (noise-free solves reach 1e-12)
METHODS = ("8-point, all points", "RANSAC 5-point", "RANSAC + 8-point refit")


class HypothesisStream:
    """RANSAC's minimal sets for one scene, drawn once (seeded) and solved lazily, in order.

    ``result(k)`` is ``ransac_essential(x1, x2, iterations=k, threshold=, seed=)``: the first k sets of
    ``sample_indices(N, 5, k_max)`` are those ``sample_indices(N, 5, k)`` draws (one row of random keys per
    set, drawn in order), so only sets beyond the ones already solved cost a solve.
    """

    def __init__(self, x1: torch.Tensor, x2: torch.Tensor, threshold: float, k_max: int, seed: int = 0):
        self.x1, self.x2 = x1, x2
        self.ransac = Ransac(threshold, k_max, seed)
        self.idx = sample_indices(x1.shape[-2], SAMPLE_SIZE, k_max, (), seed)  # (k_max, 5)
        self.parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # hypothesise() per chunk
        self.solved = 0

    def result(self, k: int) -> RansacResult:
        if not 1 <= k <= len(self.idx):
            raise ValueError(f"k: need 1 <= k <= {len(self.idx)} minimal sets, got {k}")
        if k > self.solved:
            self.parts.append(self.ransac.hypothesise(self.x1, self.x2, self.idx[self.solved:k]))
            self.solved = k
        E, inliers, valid = (torch.cat(t)[: 10 * k] for t in zip(*self.parts, strict=True))
        return refit(select(E, inliers, valid), self.x1, self.x2)


class TwoViewPanel(Panel):
    """``update(noise=, outliers=, iterations=)`` re-solves and redraws; ``errors`` holds the last numbers."""

    def __init__(self, n: int = 120, seed: int = 0, lines: int = 6, noise: float = 0.5, outliers: float = 0.3,
                 iterations: int = 100):
        super().__init__()
        if not isinstance(n, int) or n < 20:
            raise ValueError(f"n: need an int >= 20 correspondences, got {n!r}")
        self.n, self.seed, self.lines = n, seed, lines
        self.controls = {
            "noise": widgets.FloatSlider(value=noise, min=0.0, max=5.0, step=0.25, description="noise σ (px)",
                                         continuous_update=False),
            "outliers": widgets.FloatSlider(value=outliers, min=0.0, max=0.8, step=0.05, description="outlier fraction ε",
                                            continuous_update=False),
            "iterations": widgets.IntSlider(value=iterations, min=5, max=400, step=5, description="RANSAC sets k",
                                            continuous_update=False),
        }
        self.errors: dict[str, float] = {}
        # (noise, outliers) -> scene, K^-1, 8-point F, its RANSAC hypotheses: a RANSAC k move reuses them
        self._scenes: dict = {}
        self._build()
        self.update()

    def _build(self) -> None:
        self.fig, (self.ax_img, self.ax_err) = new_figure(1, 2, figsize=(11, 4.0), dpi=72,
                                                          gridspec_kw={"width_ratios": [1.5, 1]})
        w, h = 640, 480
        ax = self.ax_img
        (self.inl,) = ax.plot([], [], ".", color="0.45", ms=4)
        (self.out,) = ax.plot([], [], "x", color="C3", ms=4)
        # each estimate's ``lines`` epipolar lines are one Line2D, NaN between segments (one draw each)
        (self.true_lines,) = ax.plot([], [], "--", color="k", lw=0.8, gid="nan-breaks")
        (self.all_lines,) = ax.plot([], [], color="C1", lw=1.2, gid="nan-breaks")
        (self.ransac_lines,) = ax.plot([], [], color="C0", lw=1.2, gid="nan-breaks")
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        # text dominates a redraw (about 1 ms per label): few ticks
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.set_aspect("equal")
        ax.set_xlabel("u (pixels)")
        ax.set_ylabel("v (pixels)")
        ax.set_title("image 2: true (dashed), 8-point all (orange), RANSAC+refit (blue)", fontsize=9)

        ax = self.ax_err
        self.bars = ax.bar(range(3), [1, 1, 1], color=["C1", "C0", "C9"], log=True)
        ax.set_xticks(range(3), ["8-pt all", "RANSAC 5-pt", "+ refit"], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(FLOOR, 1e3)
        plain_log_ticks(ax.yaxis, numticks=4)
        ax.set_ylabel("median epipolar error of inliers (px)")
        ax.set_title("", fontsize=9)
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.12), y=(-0.12, 0.5))
        unhinted_text(self.fig)
        self.blit_artists(self.inl, self.out, self.true_lines, self.all_lines, self.ransac_lines, *self.bars,
                          self.ax_err.title)

    def solve(self, noise: float, outliers: float, iterations: int) -> dict[str, float]:
        """Median Sampson error (px) of the true inliers for each method, plus RANSAC's inlier counts."""
        key = (noise, outliers)
        if key not in self._scenes:
            if len(self._scenes) >= 16:
                self._scenes.pop(next(iter(self._scenes)))
            scene = data.two_view(self.n, noise=noise, outlier_fraction=outliers, seed=self.seed)
            stream = HypothesisStream(scene.x1, scene.x2, max(2.0, 3.0 * noise) / float(scene.K[0, 0]),
                                      self.controls["iterations"].max, self.seed)
            self._scenes[key] = (scene, torch.linalg.inv(scene.K), eight_point(scene.u1, scene.u2), stream)
        scene, Kinv, F_all, stream = self._scenes[key]
        self.scene = scene
        res = stream.result(iterations)
        self.F = {
            METHODS[0]: F_all,
            METHODS[1]: Kinv.T @ res.E @ Kinv,
            METHODS[2]: Kinv.T @ res.refit @ Kinv,
        }
        errors = {m: float(sampson_distance(F, scene.u1, scene.u2)[scene.inlier].sqrt().median())
                  for m, F in self.F.items()}
        errors["ransac inliers"] = int(res.count)
        errors["true inliers found"] = int((res.inlier & scene.inlier).sum())
        errors["true inliers"] = int(scene.inlier.sum())
        return errors

    def _update(self, noise: float, outliers: float, iterations: int) -> str:
        e = self.solve(noise, outliers, iterations)
        self.errors = e
        s = self.scene
        u1, u2, inl = s.u1.numpy(), s.u2.numpy(), s.inlier.numpy()
        self.inl.set_data(*u2[inl].T)
        self.out.set_data(*u2[~inl].T)
        chosen = np.flatnonzero(inl)[: self.lines]
        gap = np.full((len(chosen), 1), np.nan)
        for line, F in [(self.true_lines, s.F), (self.all_lines, self.F[METHODS[0]]),
                        (self.ransac_lines, self.F[METHODS[2]])]:
            xs, ys = epipolar_lines(F.numpy(), u1[chosen], 640)
            line.set_data(np.hstack([xs, gap]).ravel(), np.hstack([ys, gap]).ravel())
        for bar, m in zip(self.bars, METHODS, strict=True):
            bar.set_height(max(e[m], FLOOR))
        self.ax_err.set_title(f"RANSAC: {e['true inliers found']} of {e['true inliers']} inliers found", y=1.0,
                              fontsize=9)
        return (f"median epipolar error of the true inliers: 8-point on all points {e[METHODS[0]]:.3g} px, "
                f"RANSAC 5-point {e[METHODS[1]]:.3g} px, with 8-point refit {e[METHODS[2]]:.3g} px")


def bench_cases():
    """For ``python -m mbp_teach.bench widgets`` ."""
    return [("two-view RANSAC (solvers)", lambda: TwoViewPanel(),
             {"noise": [0.0, 1.0, 5.0], "outliers": [0.0, 0.4, 0.8], "iterations": [20, 200]})]
