"""Panels of notebook 07.

* ``SamplingLab``: L-BFGS memory, sample growth factor and starting fraction of HF on a small
  autoencoder (recomputed on release, ~1 s), against plain HF computed once.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from mbp_teach.hf.compare import Run, curves_autoencoder_objective, run_hf
from mbp_teach.panels.base import Panel
from mbp_teach.plotting import new_figure


class SamplingLab(Panel):
    """HF + L-BFGS (+ sampling) on a small autoencoder for ``iters`` iterations, vs plain HF."""

    def __init__(self, n_train: int = 120, iters: int = 8, max_cg: int = 40):
        super().__init__()
        self.n_train, self.iters, self.max_cg = n_train, iters, max_cg
        self.controls = {
            "memory": widgets.IntSlider(value=20, min=1, max=60, description="L-BFGS m", continuous_update=False),
            "growth": widgets.FloatSlider(value=1.3, min=1.0, max=2.0, step=0.05, description="growth a",
                                          continuous_update=False),
            "start": widgets.FloatSlider(value=0.1, min=0.02, max=1.0, step=0.02, description="start |S0|/N",
                                         continuous_update=False),
        }
        self.base = run_hf("HF", curves_autoencoder_objective(n_train), None, iters, max_cg=max_cg)
        self.fig, (self.ax_cg, self.ax_loss) = new_figure(1, 2, figsize=(10, 3.6), dpi=72)
        it = np.arange(1, iters + 1)
        self.ax_cg.plot(it[: len(self.base.cg_iters)], self.base.cg_iters, "-o", ms=3, color="0.5", label="plain HF")
        (self.cg_line,) = self.ax_cg.plot([], [], "-o", ms=3, color="C3", label="this setting")
        self.ax_loss.semilogy(self.base.passes, self.base.loss, "-o", ms=3, color="0.5", label="plain HF")
        (self.loss_line,) = self.ax_loss.semilogy([], [], "-o", ms=3, color="C3", label="this setting")
        self.ax_cg.set_xlabel("HF iteration")
        self.ax_cg.set_ylabel("CG iterations")
        self.ax_cg.set_ylim(0, max_cg + 5)
        self.ax_cg.set_xlim(0, iters + 1)
        self.ax_loss.set_xlabel("gradient-equivalent passes")
        self.ax_loss.set_ylabel("full training loss")
        self.ax_loss.legend(fontsize=8)
        self.fig.tight_layout()
        self.run: Run | None = None  # the run of the current setting
        self.update()

    # Panel declares _update(**values); update() always passes exactly the keys of self.controls
    def _update(self, memory: int, growth: float, start: float) -> str:
        r = run_hf("lab", curves_autoencoder_objective(self.n_train), None, self.iters, max_cg=self.max_cg,
                   preconditioner="lbfgs", memory=int(memory), sample_growth=float(growth), sample_start=float(start))
        self.run = r
        self.cg_line.set_data(np.arange(1, len(r.cg_iters) + 1), r.cg_iters)
        self.loss_line.set_data(r.passes, r.loss)
        self.ax_loss.set_xlim(0, 1.05 * max(r.passes[-1], self.base.passes[-1]))
        lo = min(min(r.loss), min(self.base.loss))
        self.ax_loss.set_ylim(0.8 * lo, 1.2 * max(r.loss[0], self.base.loss[0]))
        full = next((k + 1 for k, s in enumerate(r.samples) if s >= self.n_train), None)
        when = f"full data from iteration {full}" if full else f"still {r.samples[-1]} of {self.n_train} images at the end"
        return (f"m = {memory}, a = {growth:.2f}, |S0| = {start:.2f} N: {when}; final loss {r.loss[-1]:.3g} after "
                f"{r.passes[-1]:.0f} passes (plain HF: {self.base.loss[-1]:.3g} after {self.base.passes[-1]:.0f}); "
                f"mean CG its / HF it {np.mean(r.cg_iters):.1f} (plain {np.mean(self.base.cg_iters):.1f})")


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``: each move re-runs HF (about 1 s)."""
    return [("HF sampling lab", SamplingLab, {"memory": [1, 20], "growth": [1.0, 1.3]})]
