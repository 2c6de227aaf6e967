"""The adaptive-momentum tau panel of notebook 05.

``TauPanel``: adaptive momentum on a small DAG network, error monotone or not. Each move shows
``demo_problem(seed)`` trained from the same initial weights for ``steps`` full-batch steps with the
chosen tau and eta: the error E(w_k) on a log scale with every increase marked, and ||g_k||
next to the momentum length ||tau_k dw_k|| (= tau ||g_k|| by construction). The two sliders reach
13 x 4 (tau, eta) pairs: their runs are trained once, at construction, by the same
``train_full_batch`` a move would call, so a move is a look-up and a redraw. A pair off the
grid (``update(tau=0.123)`` from code) is snapped to it, like a browser would.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from mbp_teach.momentum.adaptive import demo_problem, train_full_batch, violations
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure

TOO_BIG = 1e12  # errors beyond this are off the plot, the run has blown up


class TauPanel(Panel):
    """``update(tau=...)`` retrains and redraws; ``run`` and ``found`` keep the last result for tests."""

    def __init__(self, eta: float = 0.1, steps: int = 40, seed: int = 0, tau: float = 0.05):
        super().__init__()
        self.steps, self.seed = steps, seed
        self.controls = {
            "tau": widgets.FloatSlider(value=tau, min=0.0, max=0.6, step=0.05, description="momentum τ",
                                       readout_format=".2f", continuous_update=False),
            "eta": widgets.FloatSlider(value=eta, min=0.05, max=0.2, step=0.05, description="step η",
                                       readout_format=".2f", continuous_update=False),
        }
        # every (tau, eta) position of the two sliders, trained once
        self._runs = {(t, e): self.train(t, e) for t in self.grid("tau") for e in self.grid("eta")}
        self.fig, (self.ax_e, self.ax_g) = new_figure(1, 2, figsize=(10.0, 3.4), dpi=72)
        ks = np.arange(steps + 1)
        (self.err,) = self.ax_e.semilogy(ks, np.ones(ks.shape), color="C0", lw=1.5)
        (self.bad,) = self.ax_e.semilogy([], [], "o", color="C3", ms=5)
        self.first = self.ax_e.axvline(-1, color="C3", lw=1, ls=":")
        self.ax_e.set_xlim(0, steps)
        self.ax_e.set_ylim(1e-3, 1e2)
        self.ax_e.set_xlabel("step k")
        self.ax_e.set_ylabel("error E(w_k)  (red: increases)")
        (self.gn,) = self.ax_g.semilogy(ks[:-1], np.ones(steps), color="C2", lw=1.5)
        (self.mn,) = self.ax_g.semilogy(ks[:-1], np.ones(steps), "--", color="C1", lw=1.5)
        self.ax_g.set_xlim(0, steps)
        self.ax_g.set_ylim(1e-4, 1e3)
        self.ax_g.set_xlabel("step k")
        self.ax_g.set_ylabel("||g_k|| (solid), ||τ_k dw_k|| (dashed)")
        for ax in (self.ax_e, self.ax_g):
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            plain_log_ticks(ax.yaxis)
        self.ax_e.set_title("", fontsize=10)
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.12), y=(-0.1, 0.5))
        unhinted_text(self.fig)
        self.blit_artists(self.err, self.bad, self.first, self.gn, self.mn, self.ax_e.title)
        self.update()

    def grid(self, name: str) -> list[float]:
        """The values a slider can take (rounded, so a browser's value finds its run)."""
        c = self.controls[name]
        return [float(v) for v in np.round(c.min + c.step * np.arange(round((c.max - c.min) / c.step) + 1), 12)]

    def train(self, tau: float, eta: float):
        """The run for one (tau, eta): ``steps`` steps of ``train_full_batch`` on ``demo_problem(seed)``."""
        net, x, y = demo_problem(self.seed)
        return train_full_batch(net, x, y, eta, tau, self.steps)

    def _update(self, tau: float, eta: float) -> str:
        key = (round(tau, 12), round(eta, 12))  # a browser value is on the grid to round-off
        self.run = run = self._runs[key] if key in self._runs else self.train(tau, eta)
        e = run.error
        ok = np.isfinite(e) & (e < TOO_BIG)
        kept = int(np.argmin(ok)) if not ok.all() else len(e)
        ks = np.arange(len(e))
        self.err.set_data(ks[:kept], e[:kept])
        self.found = v = violations(e)
        shown = v[v + 1 < kept]
        self.bad.set_data(shown + 1, e[shown + 1])
        self.first.set_xdata([v[0] + 1 if len(v) else -1] * 2)
        g, m = run.grad_norm, run.momentum_norm
        okg = np.isfinite(g) & (g < TOO_BIG) & np.isfinite(m)
        keptg = int(np.argmin(okg)) if not okg.all() else len(g)
        self.gn.set_data(ks[:keptg], g[:keptg])
        self.mn.set_data(ks[:keptg], np.maximum(m[:keptg], 1e-300))
        self.ax_e.set_title(f"τ = {tau:.2f}, η = {eta:.2f}: {len(v)} increase(s) in {self.steps} steps",
                            y=1.0, fontsize=10)
        side = "τ < η: the sufficient condition holds" if tau < eta else "τ ≥ η: outside the sufficient condition"
        if kept < len(e):
            return f"⚠ τ = {tau:.2f}, η = {eta:.2f} ({side}): the error blew up at step {kept} (past 1e12)"
        if len(v) == 0:
            return f"τ = {tau:.2f}, η = {eta:.2f} ({side}): E(w_k) decreases at every one of the {self.steps} steps"
        return (f"τ = {tau:.2f}, η = {eta:.2f} ({side}): first increase of E at step {v[0] + 1}; "
                f"{len(v)} increase(s) in {self.steps} steps")


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``."""
    return [("adaptive momentum τ, η", TauPanel, {"tau": list(np.linspace(0.0, 0.6, 13)), "eta": [0.05, 0.1, 0.15, 0.2]})]
