"""The MinBackProp toy lab (notebook 03): train per-point weights through a solver, live.

Controls: the toy (rotation through ``kabsch``, 4 points; or fundamental matrix through
``eight_point``, 15 correspondences), the backward mode, the outlier's displacement, the SGD
learning rate and the number of steps. Each move re-runs the whole training (milliseconds for
the rotation toy) and redraws two views built once: the effective weights relu(w)^2 per step
(the outlier in red) and the loss per step on a log scale. A run that turns non-finite, or a
setting the solver refuses (a too large step can zero every weight), is a message, not a trace.

The rotation toy with the IFT backward (the lab's default) does not retrain on a move: at
construction every run its sliders can reach (50 shifts x 46 learning rates, 100 steps; a
shorter run is a prefix) is trained at once with the closed-form Kabsch gradient
(``toys.train_rotation_ift_batch``, about a second), so a move is a look-up. It follows the
path of ``toys.train_weights(..., "ift")`` to round-off (tested). Other settings train on the move.

``AblationLab`` is the relative-pose lab: a toggle chooses which gradient terms trained the outlier
filter (score function only, pathwise through the solver only, both; ``train.ablation``) and a
slider the seed. Every run is trained once, before the lab is shown (the notebook's ablation), so
a move is a look-up: the training error per step (the chosen run in colour, the other two gradient
choices of the same seed in grey) and AUC@10 against the RANSAC budget (the run, the median over
seeds of its gradient choice, and uniform sampling).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from mbp_teach.gradients.backward import MODES
from mbp_teach.minbackprop import report, toys, train
from mbp_teach.minbackprop.plots import MARKERS, OKABE_ITO, PLAIN
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure

MAX_POINTS = 15
LOSS_FLOOR = 1e-16
LOSS_YLIM = (1e-17, 1e3)  # fixed: from below the floor to above the largest loss (degrees or 1 - <F, E>^2)
LABELS = {"rotation": "rotation error (degrees)", "fundamental": "loss 1 - <F, E>^2"}


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten that is >= x (x > 0)."""
    e = math.floor(math.log10(x))
    return next(m * 10.0**e for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10) if m * 10.0**e >= x * (1 - 1e-12))


def build_problem(toy: str, displacement: float) -> toys.WeightProblem:
    if toy == "rotation":
        return toys.rotation_toy(displacement)[0]
    if toy == "fundamental":
        return toys.fundamental_toy(displacement=displacement)[0]
    raise ValueError(f"toy: must be 'rotation' or 'fundamental', got {toy!r}")


class ToyLab(Panel):
    """``update(toy=, backward=, displacement=, lr=, steps=)`` trains and redraws."""

    def __init__(self, toy: str = "rotation", backward: str = "ift", displacement: float = 0.1, lr: float = 0.1,
                 steps: int = 30):
        super().__init__()
        self.controls = {
            "toy": widgets.Dropdown(options=["rotation", "fundamental"], value=toy, description="toy"),
            "backward": widgets.Dropdown(options=list(MODES), value=backward, description="backward"),
            "displacement": widgets.FloatSlider(value=displacement, min=0.0, max=0.5, step=0.01,
                                                description="outlier shift d (units of the data)", continuous_update=False),
            "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=1.5, step=0.1, description="learning rate η",
                                         continuous_update=False),
            "steps": widgets.IntSlider(value=steps, min=1, max=100, description="training steps", continuous_update=False),
        }
        self.history: toys.WeightHistory | None = None
        c = self.controls
        self._d_grid = np.round(np.arange(1, round(c["displacement"].max / c["displacement"].step) + 1)
                                * c["displacement"].step, 12)
        lr_c = c["lr"]
        self._lr_exp = np.round(lr_c.min + lr_c.step * np.arange(round((lr_c.max - lr_c.min) / lr_c.step) + 1), 12)
        self._lr_grid = np.round(lr_c.base ** self._lr_exp, 12)
        d, lr = np.meshgrid(self._d_grid, self._lr_grid, indexing="ij")
        self._table = toys.train_rotation_ift_batch(d.ravel(), lr.ravel(), c["steps"].max)
        self._build()
        self.update()

    def _build(self) -> None:
        self.fig, (self.ax_w, self.ax_loss) = new_figure(1, 2, figsize=(10, 3.6), dpi=72)
        self.weight_lines = [self.ax_w.plot([], [], color="C3" if i == 0 else "C0", lw=2.0 if i == 0 else 1.0,
                                            alpha=1.0 if i == 0 else 0.7)[0] for i in range(MAX_POINTS)]
        self.ax_w.set_xlabel("SGD step")
        self.ax_w.set_ylabel("weight relu(w)^2")
        self.ax_w.set_title("red: the outlier, blue: inliers", fontsize=10)
        for axis in (self.ax_w.xaxis, self.ax_w.yaxis, self.ax_loss.xaxis):
            axis.set_major_locator(MaxNLocator(5, integer=axis is not self.ax_w.yaxis))  # few labels: text is dear
        (self.loss_line,) = self.ax_loss.semilogy([1], [1], "-o", ms=2.5, color="k")
        self.ax_loss.set_xlabel("SGD step")
        self.ax_loss.set_ylabel(LABELS["rotation"])
        self.ax_loss.set_ylim(LOSS_YLIM)
        plain_log_ticks(self.ax_loss.yaxis)
        self.alarm = self.ax_loss.text(0.5, 0.5, "", transform=self.ax_loss.transAxes, ha="center", color="#b00",
                                       fontsize=12, fontweight="bold")
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.12), y=(-0.13, 0.5))
        unhinted_text(self.fig)
        # limits follow the run, so the four axes (ticks, labels) are redrawn with the curves
        self.blit_artists(*self.weight_lines, self.loss_line, self.alarm,
                          follow=(self.ax_w.xaxis, self.ax_w.yaxis, self.ax_loss.xaxis))

    def reachable_run(self, displacement: float, lr: float, steps: int) -> toys.WeightHistory | None:
        """The precomputed rotation/IFT run at a slider position (None off the grid); may raise ValueError."""
        j = int(round(displacement / self.controls["displacement"].step)) - 1
        k = int(round((math.log10(lr) - self._lr_exp[0]) / self.controls["lr"].step)) if lr > 0 else -1
        if not (0 <= j < len(self._d_grid) and 0 <= k < len(self._lr_grid) and 1 <= steps <= self._table.loss.shape[1] - 1):
            return None
        if abs(self._d_grid[j] - displacement) > 1e-9 or abs(self._lr_grid[k] - lr) > 1e-9 * lr:
            return None
        return self._table.history(j * len(self._lr_grid) + k, int(steps))

    def _clear(self) -> None:
        for line in self.weight_lines:
            line.set_data([], [])
        self.loss_line.set_data([], [])

    def _update(self, toy: str, backward: str, displacement: float, lr: float, steps: int) -> str:
        self.history = None
        try:
            problem = build_problem(toy, displacement)
            hist = self.reachable_run(displacement, lr, steps) if (toy, backward) == ("rotation", "ift") else None
            if hist is None:
                hist = toys.train_weights(problem, backward, lr=lr, steps=steps)
        except ValueError:
            self._clear()
            self.alarm.set_text("refused")
            raise
        self.history = hist
        w = np.asarray(hist.weights)
        ks = np.arange(len(w))
        for i, line in enumerate(self.weight_lines):
            line.set_data(ks, w[:, i]) if i < w.shape[1] else line.set_data([], [])
        loss = np.maximum(np.abs(np.asarray(hist.loss, dtype=float)), LOSS_FLOOR)
        finite = np.isfinite(loss)
        self.loss_line.set_data(ks[: len(loss)][finite], loss[finite])
        # the weights' y limit on a coarse ladder (nice_ceiling): most moves keep it, and the axes with their tick labels
        # stay in the saved picture (panel.Blitter's ``follow``); the loss axis spans every value it can show
        self.ax_w.set_xlim(0, max(steps, 1))
        self.ax_w.set_ylim(0, nice_ceiling(max(float(np.nanmax(w)) * 1.1, 1e-3)))
        self.ax_loss.set_xlim(0, max(steps, 1))
        if self.ax_loss.get_ylabel() != LABELS[toy]:
            self.ax_loss.set_ylabel(LABELS[toy])
            self.blitter.invalidate()  # a static part changed: the next redraw is a full one
        if not hist.stable:
            self.alarm.set_text(f"UNSTABLE at step {hist.failed_at}")
            return f"⚠ {backward}: {hist.failure} at step {hist.failed_at}; the run stops there"
        self.alarm.set_text("")
        ratio = hist.outlier_ratio(problem.outlier)
        unit = " degrees" if problem.unit == "deg" else ""
        return (f"{toy} toy, backward={backward}: loss {hist.loss[0]:.3g} -> {hist.loss[-1]:.3g}{unit} in {steps} "
                f"steps; outlier weight / smallest inlier weight = {ratio:.2g}")


class AblationLab(Panel):
    """``update(gradient=, seed=)`` shows one run of a ``train.ablation`` result (no training on a move)."""

    def __init__(self, result: dict, gradient: str = "both", seed: int | None = None):
        super().__init__()
        self.result = result
        grads = report.ablation_gradients(result)
        seeds = sorted({r["seed"] for r in result["runs"]})
        if not grads or not seeds:
            raise ValueError("result: an ablation with no runs")
        self.controls = {
            "gradient": widgets.ToggleButtons(options=grads, value=gradient if gradient in grads else grads[-1],
                                              description="gradient"),
            "seed": widgets.IntSlider(value=seeds[0] if seed is None else seed, min=seeds[0], max=seeds[-1],
                                      description="training seed", continuous_update=False),
        }
        self.uniform = report.budget_aucs(result, None)
        self.medians = {g: {h: float(np.median(v)) for h, v in report.budget_aucs(result, g).items()} for g in grads}
        self.run: dict | None = None
        self._build()
        self.update()

    def _build(self) -> None:
        self.fig, (self.ax_e, self.ax_b) = new_figure(1, 2, figsize=(10, 3.6), dpi=72)
        steps = self.result["config"]["steps"]
        self.other_lines = [self.ax_e.plot([], [], color="0.6", lw=1.0)[0] for _ in range(2)]
        (self.error_line,) = self.ax_e.plot([], [], lw=2.0)
        self.ax_e.set_xlim(0, steps - 1)
        self.ax_e.set_ylim(0, 1)
        self.ax_e.set_xlabel("training step")
        self.ax_e.set_ylabel("mean hypothesis error")
        self.ax_e.set_title("colour: this run; grey: other gradients, same seed", fontsize=10)
        hs = sorted(self.uniform)
        self.ax_b.plot(hs, [self.uniform[h][0] for h in hs], color=OKABE_ITO["uniform"], marker=MARKERS["uniform"],
                       ms=4, label="uniform sampling")
        (self.median_line,) = self.ax_b.plot([], [], ls="--", lw=1.2, label="median over seeds")
        (self.run_line,) = self.ax_b.plot([], [], marker="o", ms=4, lw=2.0, label="this run")
        self.ax_b.set_xscale("log", base=2)
        self.ax_b.xaxis.set_major_formatter(PLAIN)
        self.ax_b.set_xlim(hs[0] / 1.2, hs[-1] * 1.2)
        self.ax_b.set_ylim(0, 1)
        self.ax_b.set_xlabel("RANSAC budget (hypotheses per pair)")
        self.ax_b.set_ylabel("AUC@10° of the pose error")
        self.ax_b.legend(fontsize=8, loc="upper left")
        self.fig.tight_layout()
        self.blit_artists(*self.other_lines, self.error_line, self.median_line, self.run_line)

    def find(self, gradient: str, seed: int) -> dict:
        """The run of ``result`` with this gradient choice and seed (ValueError if there is none)."""
        for r in self.result["runs"]:
            if r["gradient"] == gradient and r["seed"] == seed:
                return r
        raise ValueError(f"no run with gradient={gradient!r} and seed={seed} in this ablation")

    def _update(self, gradient: str, seed: int) -> str:
        self.run = run = self.find(gradient, seed)
        colour = OKABE_ITO[gradient]
        self.error_line.set_data(np.arange(len(run["loss"])), run["loss"])
        self.error_line.set_color(colour)
        others = [r for r in self.result["runs"] if r["seed"] == seed and r["gradient"] != gradient]
        for line, r in zip(self.other_lines, others + [None] * 2, strict=False):
            line.set_data(*((np.arange(len(r["loss"])), r["loss"]) if r is not None else ([], [])))
        hs = sorted(self.medians[gradient])
        self.median_line.set_data(hs, [self.medians[gradient][h] for h in hs])
        self.median_line.set_color(colour)
        if run["failed_at"] is not None:
            self.run_line.set_data([], [])
            return f"{report.GRADIENT_LABELS[gradient]}, seed {seed}: {run['failure']} at step {run['failed_at']}"
        mine = {int(h): report.auc(e) for h, e in run["budget_errors"].items()}
        self.run_line.set_data(hs, [mine[h] for h in hs])
        self.run_line.set_color(colour)
        h = self.result["config"]["eval_hypotheses"]
        return (f"{report.GRADIENT_LABELS[gradient]}, seed {seed}: AUC@10 {mine.get(h, float('nan')):.2f} at {h} "
                f"hypotheses per pair (uniform sampling {self.uniform[h][0]:.2f})")


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``."""
    sweep = {"displacement": [0.05, 0.1, 0.2, 0.4], "lr": [0.03, 0.1, 0.3], "steps": [10, 30, 60]}
    return [("minbackprop toy lab (rotation, IFT)", lambda: ToyLab(), sweep),
            ("minbackprop ablation lab (a tiny ablation)", lambda: AblationLab(_tiny_ablation()),
             {"gradient": ["score", "pathwise", "both"], "seed": [0, 1]})]


def _tiny_ablation() -> dict:
    """A two-seed, two-step ablation: enough runs for the lab's controls, in about a second."""
    return train.ablation(train.Config(steps=2, batch=1, n_sets=4, eval_pairs=8), range(2), budgets=(1, 4, 16))
