"""Panels of notebook 07.

* ``SamplingLab``: left, the L-BFGS memory m on section 1's related systems (CG iterations per solve, against
  plain CG); right, the sample growth factor a and starting fraction |S0|/N of HF with sampling on a
  120-image autoencoder (full training loss against passes, against plain HF). Every slider position is
  computed before the panel is shown: the memory sweep here (about a second), the HF runs by
  ``python -m mbp_teach.experiments hf_sampling --parts lab`` (figures/07_sampling_lab.json). A move only looks
  its curves up and blits them.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from mbp_teach.hf import related, stored
from mbp_teach.hf.compare import Run
from mbp_teach.panels.base import Panel
from mbp_teach.plotting import new_figure

MEMORIES = (1, 2, 5, 10, 20, 30, 40, 60)
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "grey": "#7f7f7f"}


class SamplingLab(Panel):
    """Memory m (related systems) and growth a, start |S0|/N (autoencoder with sampling), all precomputed.

    ``sweep``: {m: CG iterations per solve (count,)}, with m = 0 plain CG (default: ``related.memory_sweep`` over
    ``MEMORIES`` on ``related.related_systems()``). ``lab``: the stored grid of HF runs (default: loaded from
    figures/07_sampling_lab.json).
    """

    def __init__(self, sweep: dict[int, np.ndarray] | None = None, lab: dict | None = None):
        super().__init__()
        self.sweep = sweep if sweep is not None else related.memory_sweep(MEMORIES, related.related_systems())
        memories = sorted(m for m in self.sweep if m > 0)
        if 0 not in self.sweep or not memories:
            raise ValueError("sweep: needs plain CG (key 0) and at least one memory m >= 1")
        self.lab = lab if lab is not None else stored.load("07_sampling_lab")
        self.n_train = int(self.lab["n_train"])
        self.runs: dict[tuple[float, float], Run] = {}
        plain = []
        for rec in self.lab["runs"]:
            if rec["start"] is None:
                plain.append(stored.as_run(rec))
            else:
                self.runs[float(rec["growth"]), float(rec["start"])] = stored.as_run(rec)
        if len(plain) != 1 or not self.runs:
            raise ValueError("lab: needs one plain HF run (start None) and at least one sampled run")
        self.base: Run = plain[0]
        growths = sorted({a for a, _ in self.runs})
        starts = sorted({s for _, s in self.runs})
        self.controls = {
            "memory": widgets.SelectionSlider(options=memories, value=20 if 20 in memories else memories[0],
                                              description="L-BFGS memory m (pairs)"),
            "growth": widgets.SelectionSlider(options=growths, value=1.2 if 1.2 in growths else growths[0],
                                              description="sample growth a (× per iteration)"),
            "start": widgets.SelectionSlider(options=starts, value=0.1 if 0.1 in starts else starts[0],
                                             description="first sample |S₀|/N"),
        }
        self.fig, (self.ax_m, self.ax_s) = new_figure(1, 2, figsize=(10, 3.6), dpi=72)
        solves = np.arange(1, len(self.sweep[0]) + 1)
        self.ax_m.plot(solves, self.sweep[0], "--s", ms=4, color=OKABE_ITO["grey"], label="plain CG")
        (self.m_line,) = self.ax_m.plot([], [], "-o", ms=4, color=OKABE_ITO["blue"], label="L-BFGS, memory m")
        self.ax_m.set_xlim(0.5, len(solves) + 0.5)
        self.ax_m.set_xticks(solves)
        self.ax_m.set_ylim(0, 1.1 * max(float(v.max()) for v in self.sweep.values()))
        self.ax_m.set_xlabel("solve k of the related systems")
        self.ax_m.set_ylabel("CG iterations to rtol 1e-6")
        self.ax_m.set_title("section 1: related systems", fontsize=10)
        self.ax_m.legend(fontsize=8, loc="lower left")
        self.ax_s.semilogy(self.base.passes, self.base.loss, "--s", ms=3, color=OKABE_ITO["grey"], label="plain HF")
        (self.s_line,) = self.ax_s.semilogy([], [], "-o", ms=3, color=OKABE_ITO["orange"], label="HF + sampling")
        every = list(self.runs.values()) + [self.base]
        self.ax_s.set_xlim(0, 1.05 * max(r.passes[-1] for r in every))
        self.ax_s.set_ylim(0.8 * min(min(r.loss) for r in every), 1.2 * max(max(r.loss) for r in every))
        self.ax_s.set_xlabel("gradient-equivalent passes over the 120 images")
        self.ax_s.set_ylabel("full training loss")
        self.ax_s.set_title(f"autoencoder, {self.n_train} images, {len(self.base.loss)} HF iterations", fontsize=10)
        self.ax_s.legend(fontsize=8)
        self.fig.tight_layout()
        self.blit_artists(self.m_line, self.s_line)
        self.run: Run | None = None  # the HF run of the current (growth, start)
        self.update()

    # Panel declares _update(**values); update() always passes exactly the keys of self.controls
    def _update(self, memory: int, growth: float, start: float) -> str:
        its = self.sweep.get(int(memory))
        run = self.runs.get((float(growth), float(start)))
        if its is None or run is None:
            raise ValueError(f"no precomputed result for m = {memory}, a = {growth}, |S0|/N = {start}")
        self.run = run
        self.m_line.set_data(np.arange(1, len(its) + 1), its)
        self.s_line.set_data(run.passes, run.loss)
        plain = self.sweep[0]
        full = next((k + 1 for k, s in enumerate(run.samples) if s >= self.n_train), None)
        when = (f"all {self.n_train} images from iteration {full}" if full
                else f"still {run.samples[-1]} of {self.n_train} images at the end")
        return (f"m = {memory}: solves 2-{len(its)} take {its[1:].sum()} CG iterations (plain CG {plain[1:].sum()}). "
                f"a = {growth}, |S0| = {start} N: {when}; final loss {run.loss[-1]:.3g} after {run.passes[-1]:.0f} "
                f"passes (plain HF: {self.base.loss[-1]:.3g} after {self.base.passes[-1]:.0f})")


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``: moves are lookups."""
    return [("HF sampling lab", SamplingLab, {"memory": [1, 10, 40, 60], "growth": [1.0, 1.3, 2.0],
                                              "start": [0.02, 0.1, 0.4]})]
