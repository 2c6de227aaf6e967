"""The adaptive-momentum tau panel of notebook 05.

``TauPanel``: adaptive momentum on a small DAG network, error monotone or not. Each move retrains
``demo_problem(seed)`` from the same initial weights for ``steps`` full-batch steps with the
chosen tau and redraws: the error E(w_k) on a log scale with every increase marked, and ||g_k||
next to the momentum length ||tau_k dw_k|| (= tau ||g_k|| by construction). The slider reaches
61 values of tau: their runs are trained once, at construction (about 3 s on a 2-core machine),
by the same ``train_full_batch`` a move would call, so a move is a look-up and a redraw. A tau off
the slider grid (``update(tau=0.123)`` from code) is trained on the move.
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

    def __init__(self, eta: float = 0.1, steps: int = 50, seed: int = 0, tau: float = 0.05):
        super().__init__()
        self.eta, self.steps, self.seed = eta, steps, seed
        self.controls = {"tau": widgets.FloatSlider(value=tau, min=0.0, max=0.6, step=0.01, description="τ",
                                                    readout_format=".2f", continuous_update=False)}
        c = self.controls["tau"]
        grid = np.round(c.min + c.step * np.arange(round((c.max - c.min) / c.step) + 1), 12)
        self._runs = {float(t): self.train(float(t)) for t in grid}  # every position of the slider
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
            ax.xaxis.set_major_locator(MaxNLocator(5))
            plain_log_ticks(ax.yaxis)
        self.ax_e.set_title("", fontsize=10)
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.12), y=(-0.1, 0.5))
        unhinted_text(self.fig)
        self.blit_artists(self.err, self.bad, self.first, self.gn, self.mn, self.ax_e.title)
        self.update()

    def train(self, tau: float):
        """The run for one tau: ``steps`` steps of ``train_full_batch`` on ``demo_problem(seed)``."""
        net, x, y = demo_problem(self.seed)
        return train_full_batch(net, x, y, self.eta, tau, self.steps)

    def _update(self, tau: float) -> str:
        run = self._runs.get(round(tau, 12))  # a browser value is on the grid to round-off
        self.run = run = run if run is not None else self.train(tau)
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
        self.ax_e.set_title(f"τ = {tau:.2f}, η = {self.eta:g}: {len(v)} increase(s) in {self.steps} steps",
                            y=1.0, fontsize=10)
        if kept < len(e):
            return f"⚠ τ = {tau:.2f}: the error blew up at step {kept} (past 1e12); momentum too large for η = {self.eta:g}"
        if len(v) == 0:
            return f"τ = {tau:.2f}: E(w_k) decreases at every one of the {self.steps} steps"
        return f"τ = {tau:.2f}: first increase of E at step {v[0] + 1}; {len(v)} increase(s) in {self.steps} steps"


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``."""
    return [("adaptive momentum τ", TauPanel, {"tau": list(np.linspace(0.0, 0.6, 13))})]
