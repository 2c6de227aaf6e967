"""Panels of notebook 06 (notebook 07's are in ``sampling_panels``).

* ``RosenbrockHF``: damping lambda and CG iterations per step of HF on Rosenbrock; shows the HF
  path on the contours and the first damped step (G + lambda I)^{-1}(-g): large lambda turns it into
  a short gradient step, small lambda into the Gauss-Newton step.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from mbp_teach.hf.plots import draw_rosenbrock_levels
from mbp_teach.hf.problems import hf_path, rosenbrock_objective
from mbp_teach.panels.base import Panel
from mbp_teach.plotting import new_figure


class RosenbrockHF(Panel):
    def __init__(self, damping: float = 1.0, max_cg: int = 2, steps: int = 60):
        super().__init__()
        self.steps = steps
        self.controls = {
            "damping": widgets.FloatLogSlider(value=damping, base=10, min=-4, max=4, step=0.25,
                                              description="initial damping λ₀", continuous_update=False),
            "max_cg": widgets.IntSlider(value=max_cg, min=1, max=2, description="CG iterations per HF step",
                                        continuous_update=False),
        }
        self.fig, self.ax = new_figure(figsize=(6.5, 4.4), dpi=72)
        draw_rosenbrock_levels(self.ax, points=200, color="0.7")
        self.ax.plot([1], [1], "k*", ms=10)
        (self.path,) = self.ax.plot([], [], "-o", color="#D55E00", ms=3, lw=1, label="HF path")
        (self.first,) = self.ax.plot([], [], "-", color="#0072B2", lw=2.5, label="first damped step")
        self.ax.set_xlim(-2, 2)
        self.ax.set_ylim(-1, 3)
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self.ax.legend(loc="lower right", fontsize=8)
        self.fig.tight_layout()
        self.blit_artists(self.path, self.first)
        self.result: torch.Tensor | None = None
        self._cache: dict[tuple[float, int], torch.Tensor] = {}  # slider positions already visited
        self.update()

    # Panel declares _update(**values); update() always passes exactly the keys of self.controls
    def _update(self, damping: float, max_cg: int) -> str:
        if not (damping > 0 and np.isfinite(damping)):
            raise ValueError(f"damping: must be positive and finite, got {damping}")
        key = (float(damping), int(max_cg))
        if key not in self._cache:
            self._cache[key] = hf_path(rosenbrock_objective(), damping, int(max_cg), self.steps)
        path = self._cache[key]
        self.result = path
        p = path.numpy()
        self.path.set_data(p[:, 0], p[:, 1])
        self.first.set_data(p[:2, 0], p[:2, 1])
        err = float((path[-1] - 1.0).norm())
        step = float((path[1] - path[0]).norm())
        # the distance at convergence is round-off (its digits differ between CPUs): shown as the bound only
        done = f"reached (1, 1) to within 1e-8 in {len(p) - 1} HF iterations" if err <= 1e-8 else \
            f"after {len(p) - 1} HF iterations still {err:.2g} from (1, 1)"
        return f"λ0 = {damping:.3g}, {max_cg} CG iteration(s) per step: first step length {step:.3g}; {done}"


def bench_cases():
    return [("HF on Rosenbrock", RosenbrockHF, {"damping": [1e-3, 1.0, 1e3], "max_cg": [1, 2]})]
