"""The heavy-ball lab of notebook 04 (notebook 05's tau panel is in ``dag_panels``).

``MomentumLab``: step size, momentum and condition number sliders on a quadratic,
f(w) = 1/2 sum_i lam_i w_i^2 with n eigenvalues from 1/kappa to 1 (n = 2: a valley in the plane).
Three views share one figure, built once and updated with ``set_data``:
the trajectory over the level sets of the (slowest, fastest) plane, the relative loss on a log
scale with the predicted rate^(2k) overlaid (the loss is quadratic in the error), and the
(alpha*lam, beta) regime map with every eigen-direction of the current setting marked.
Divergence is a message, and the curves stop where the run leaves floating-point range.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from mbp_teach.momentum import heavy_ball as mom
from mbp_teach.momentum.plots import draw_regime_map
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure

LOSS_FLOOR = 1e-300  # a loss of exactly 0 (one-step convergence) is drawn at the floor, not as log(0)
BLOW_UP = 1e30  # relative loss beyond which a run counts as diverged and its curve is cut
YLIM = (1e-16, 1e4)


class MomentumLab(Panel):
    """Heavy ball on an n-eigenvalue quadratic; ``update(alpha=, beta=, kappa=)`` recomputes and redraws.

    ``use_optimal_gd()`` / ``use_optimal_momentum()`` are what the two buttons call.
    """

    def __init__(self, n: int = 2, steps: int = 150, alpha: float = 1.0, beta: float = 0.5, kappa: float = 30.0):
        super().__init__()
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps: need an integer >= 2, got {steps!r}")
        mom.spectrum(kappa, n)  # validates n and kappa
        self.n, self.steps = n, steps
        self.controls = {
            "alpha": widgets.FloatSlider(value=alpha, min=0.01, max=4.0, step=0.001, description="step α",
                                         readout_format=".3f", continuous_update=True),
            "beta": widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.001, description="momentum β",
                                        readout_format=".3f"),
            "kappa": widgets.FloatLogSlider(value=kappa, base=10, min=0.0, max=4.0, step=0.05,
                                            description="κ = λmax/λmin", readout_format=".3g"),
        }
        self.buttons = [widgets.Button(description="optimal GD"), widgets.Button(description="optimal momentum")]
        self.buttons[0].on_click(lambda _b: self.use_optimal_gd())
        self.buttons[1].on_click(lambda _b: self.use_optimal_momentum())
        self._build()
        self.update()

    # -- figure, built once ---------------------------------------------------------------------
    def _build(self) -> None:
        # Text dominates an Agg redraw (about 1 ms per label), so the figure keeps few labels, no
        # legend, fixed label/title positions (no per-draw layout search) and plain tick labels.
        self.fig, (self.ax_path, self.ax_loss, self.ax_map) = new_figure(1, 3, figsize=(12.5, 3.9), dpi=72)
        ax = self.ax_path
        (self.levels,) = ax.plot([], [], color="0.75", lw=0.7, gid="nan-breaks")  # 9 ellipses, NaN between them
        (self.path,) = ax.plot([], [], "-o", color="C3", ms=2.5, lw=1)
        ax.plot([0], [0], "k+", ms=9)
        ax.set_xlim(-1.4, 1.4)
        ax.set_ylim(-1.4, 1.4)
        ax.set_xlabel("w along slowest eigenvector")
        ax.set_ylabel("w along fastest eigenvector")
        ax.set_title("trajectory, w_0 = (1, ..., 1)" if self.n == 2 else f"2 of {self.n} directions", fontsize=10)

        ax = self.ax_loss
        ks = np.arange(self.steps + 1)
        (self.loss,) = ax.semilogy(ks, np.ones(ks.shape), color="C0", lw=1.6)
        (self.theory,) = ax.semilogy(ks, np.ones(ks.shape), "--", color="k", lw=1.2)
        ax.set_ylim(*YLIM)
        ax.set_xlim(0, self.steps)
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("step k")
        ax.set_ylabel("relative loss f(w_k) / f(w_0)")
        # the title is static; the rate, which a move changes, is a short text of its own (text is dear)
        self.ax_loss.set_title("solid: loss, dashed: rate^(2k)", fontsize=9)
        self.rate_text = ax.text(0.97, 0.95, "", transform=ax.transAxes, ha="right", va="top", fontsize=9)
        self.alarm = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", color="#b00", fontsize=12,
                             fontweight="bold")

        draw_regime_map(self.ax_map, labels=True, fontsize=7, short=True)
        (self.marks,) = self.ax_map.plot([], [], "o", ms=6, mfc="C3", mec="w", ls="-", color="C3", lw=1)
        for a in (self.ax_path, self.ax_loss, self.ax_map):
            a.xaxis.set_major_locator(MaxNLocator(4))
            if a is not self.ax_loss:
                a.yaxis.set_major_locator(MaxNLocator(4))
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.1), y=(-0.14, 0.5))
        unhinted_text(self.fig)
        # a move redraws these over a saved picture of the rest (axes, ticks, regime map)
        self.blit_artists(self.levels, self.path, self.loss, self.theory, self.marks, self.rate_text, self.alarm)

    # -- what a slider or a button calls -------------------------------------------------------
    def lams(self, kappa: float) -> np.ndarray:
        return mom.spectrum(kappa, self.n)

    def use_optimal_gd(self) -> bool:
        lam = self.lams(self.controls["kappa"].value)
        alpha, beta, _ = mom.optimal_gd(lam[0], lam[-1])
        return self.update(alpha=alpha, beta=beta)

    def use_optimal_momentum(self) -> bool:
        lam = self.lams(self.controls["kappa"].value)
        alpha, beta, _ = mom.optimal_momentum(lam[0], lam[-1])
        return self.update(alpha=alpha, beta=beta)

    def simulate(self, alpha: float, beta: float, kappa: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Trajectory (steps+1, n), relative loss, and the number of steps kept before blow-up."""
        lam = self.lams(kappa)
        # mom.heavy_ball's recursion (PyTorch convention: z <- beta z + g, w <- w - alpha z) with g = lam w,
        # written out in NumPy: the same operations in the same order (tested equal), without a tensor per step.
        # The run stops being meaningful past BLOW_UP; the slider ranges keep it finite in float64.
        traj = np.empty((self.steps + 1, self.n))
        w, z = np.ones(self.n), np.zeros(self.n)
        traj[0] = w
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(self.steps):
                z = beta * z + lam * w
                w = w - alpha * z
                traj[k + 1] = w
            loss = 0.5 * (traj**2 * lam).sum(-1)
        rel = loss / loss[0]
        bad = ~np.isfinite(rel) | (rel > BLOW_UP)
        kept = int(np.argmax(bad)) if bad.any() else len(rel)
        return traj, rel, kept

    def _update(self, alpha: float, beta: float, kappa: float) -> str:
        lam = self.lams(kappa)
        traj, rel, kept = self.simulate(alpha, beta, kappa)
        # level sets 1/2 (lmin x^2 + lmax y^2) = c through the start and below it
        c0 = 0.5 * (lam[0] + lam[-1])
        t = np.append(np.linspace(0.0, 2.0 * np.pi, 90), np.nan)  # NaN: a break between ellipses
        r = np.sqrt(2 * c0 * 0.35 ** np.arange(9))[:, None]
        self.levels.set_data((r / np.sqrt(lam[0]) * np.cos(t)).ravel(), (r / np.sqrt(lam[-1]) * np.sin(t)).ravel())
        self.path.set_data(traj[:kept, 0], traj[:kept, -1])

        ks = np.arange(kept)
        self.loss.set_data(ks, np.maximum(rel[:kept], LOSS_FLOOR))
        rho = mom.worst_rate(alpha, beta, lam)
        all_k = np.arange(self.steps + 1)
        with np.errstate(over="ignore", under="ignore"):
            self.theory.set_data(all_k, np.clip(rho ** (2.0 * all_k), LOSS_FLOOR, BLOW_UP))
        self.marks.set_data(alpha * lam, np.full(lam.shape, beta))

        rates = mom.rate(alpha, beta, lam)
        slow = int(np.argmax(rates))
        self.rate_text.set_text(f"rate = {rho:.4f}")
        if rho >= 1.0:
            worst = lam[slow]
            self.alarm.set_text(f"DIVERGES (rate {rho:.3f} ≥ 1)")
            return (f"⚠ diverges: the direction λ = {worst:.3g} has αλ = {alpha * worst:.3g} and rate {rho:.3f} ≥ 1 "
                    f"(converges only if 0 < αλ < 2 + 2β = {2 + 2 * beta:.3g} for every λ)"
                    + ("; curves stop where the loss passes 1e30" if kept <= self.steps else ""))
        self.alarm.set_text("")
        to_1e6 = max(1.0, np.log(1e-6) / np.log(rho)) if rho > 0 else 1.0
        names = [mom.regime(float(alpha * lam[i]), beta) for i in (0, len(lam) - 1)]
        who = ("every direction converges at this rate" if np.ptp(rates) <= 1e-6 * max(rho, 1e-300)
               else f"set by the slowest direction, λ = {lam[slow]:.3g}")
        return (f"α = {alpha:.4g}, β = {beta:.4g}, κ = {kappa:.4g}: rate {rho:.4f}, {who}; about {to_1e6:.0f} "
                f"steps per factor 1e6 on the error. λmin: {names[0]}, λmax: {names[1]}")

    def widget(self) -> widgets.Widget:
        box = super().widget()
        box.children = (widgets.HBox(self.buttons),) + tuple(box.children)
        return box


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``."""
    sweep = {
        "alpha": list(np.linspace(0.05, 4.0, 12)),
        "beta": list(np.linspace(0.0, 0.99, 12)),
        "kappa": list(np.geomspace(1.0, 1e4, 12)),
    }
    return [
        ("momentum lab 2-D", lambda: MomentumLab(n=2), sweep),
        ("momentum lab n-D (n=50)", lambda: MomentumLab(n=50), sweep),
    ]
