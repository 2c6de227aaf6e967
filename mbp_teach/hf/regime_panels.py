"""The regimes panel of notebook 06: one slider over the stored depths of the digits autoencoder.

``RegimePanel`` shows, for the depth chosen, the training loss of HF, SGD with momentum, Adam and
L-BFGS against gradient-equivalent passes (median over seeds, thick; each seed, thin; each method's
chosen setting), and the mean Gauss-Newton curvature of every weight matrix at initialisation,
input side first (``regimes.layer_curvatures``). Nothing is trained on a move: the runs are the ones
``python -m mbp_teach.experiments hf_fair`` stored in figures/06_fair.json (about 15 minutes of CPU),
so a move is a look-up and a blitted redraw of fixed axes.
"""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D

from mbp_teach.hf.fair_plots import STYLE, _median_curve
from mbp_teach.notebook import figures_dir
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure

RESULT = "06_fair.json"


def load_result(path: str | Path | None = None) -> dict:
    """The stored comparison (figures/06_fair.json unless ``path``)."""
    p = Path(path) if path is not None else figures_dir() / RESULT
    if not p.is_file():
        raise ValueError(f"path: no stored comparison at {p}; run `python -m mbp_teach.experiments hf_fair`")
    return json.loads(p.read_text())


def digits_depths(result: dict) -> dict[int, str]:
    """depth -> problem name, for the digits problems of a stored result ("digits, depth d")."""
    out = {}
    for name in result["problems"]:
        if name.startswith("digits, depth "):
            out[int(name.rsplit(" ", 1)[1])] = name
    return dict(sorted(out.items()))


class RegimePanel(Panel):
    """``update(depth=d)`` shows the stored runs and layer curvatures of the depth-d digits autoencoder."""

    def __init__(self, result: dict | None = None, depth: int | None = None):
        super().__init__()
        self.result = result if result is not None else load_result()
        self.depths = digits_depths(self.result)
        if len(self.depths) < 2:
            raise ValueError("result: need stored runs for at least two depths of the digits autoencoder")
        ds = list(self.depths)
        steps = set(np.diff(ds))
        self.controls = {"depth": widgets.IntSlider(value=depth if depth is not None else ds[-1], min=ds[0], max=ds[-1],
                                                    step=int(min(steps)), description="depth d (layers per side)",
                                                    continuous_update=False)}
        self.methods = list(self.result["config"]["settings"])
        budget = float(self.result["config"]["budget_passes"])
        self.fig, (self.ax_loss, self.ax_curv) = new_figure(1, 2, figsize=(10.0, 3.6), dpi=72)
        self.median: dict[str, Line2D] = {}
        self.seeds: dict[str, list[Line2D]] = {}
        for m in self.methods:
            colour, ls = STYLE[m]
            self.seeds[m] = [self.ax_loss.plot([], [], color=colour, ls=ls, lw=0.6, alpha=0.5)[0]
                             for _ in self.result["config"]["seeds"]]
            self.median[m] = self.ax_loss.plot([], [], color=colour, ls=ls, lw=2, label=m)[0]
        (self.start,) = self.ax_loss.plot([], [], "ko", ms=5, label="common start")
        losses = [v for e in self.result["problems"].values() for me in e["methods"].values() for r in me["runs"]
                  for v in r["loss"] if np.isfinite(v)]
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlim(0, budget)
        self.ax_loss.set_ylim(0.8 * min(losses), 1.25 * max(losses))
        self.ax_loss.set_xlabel("gradient-equivalent passes")
        self.ax_loss.set_ylabel("training loss per image")
        curv = [v for n in self.depths.values() for s in self.result["problems"][n]["spectrum"] for v in s["layer_curvature"]]
        most = max(len(self.result["problems"][n]["spectrum"][0]["layer_curvature"]) for n in self.depths.values())
        (self.curv,) = self.ax_curv.semilogy([], [], "o-", color="#0072B2")
        self.ax_curv.set_xlim(0.5, most + 0.5)
        self.ax_curv.set_ylim(0.5 * min(v for v in curv if v > 0), 2 * max(curv))
        self.ax_curv.set_xlabel("weight matrix (1 = input side)")
        self.ax_curv.set_ylabel("mean GN curvature at init")
        # the methods' legend sits in the curvature axes' empty lower right (the curvature grows towards the
        # output side): over the loss curves, blitted lines would be drawn on top of it
        self.ax_curv.legend(handles=[*self.median.values(), self.start], fontsize=7, loc="lower right")
        # static titles: the depth, widths and ratio go to the message line (text is the dearest thing to blit)
        self.ax_loss.set_title("stored runs, chosen settings", fontsize=10)
        self.ax_curv.set_title("mean curvature per weight matrix", fontsize=10)
        for ax in (self.ax_loss, self.ax_curv):
            plain_log_ticks(ax.yaxis)
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.12), y=(-0.12, 0.5))
        unhinted_text(self.fig)
        # blitted in the order a full draw uses (each method's seeds, then its median): the thin lines are
        # translucent, so another order would blend their overlaps differently
        self.blit_artists(*(a for m in self.methods for a in (*self.seeds[m], self.median[m])), self.start, self.curv)
        # every median curve precomputed: a move only looks them up
        self._medians = {(d, m): _median_curve(self.result["problems"][n]["methods"][m]["runs"], "passes")
                         for d, n in self.depths.items() for m in self.methods}
        self.shown: str | None = None
        self.update()

    def _update(self, depth: int) -> str:
        if depth not in self.depths:
            raise ValueError(f"depth: runs are stored for depths {list(self.depths)} only, not {depth}")
        name = self.shown = self.depths[depth]
        entry = self.result["problems"][name]
        finals = {}
        for m in self.methods:
            runs = entry["methods"][m]["runs"]
            for line, r in zip(self.seeds[m], runs, strict=True):
                line.set_data(r["passes"], r["loss"])
            self.median[m].set_data(*self._medians[depth, m])
            finals[m] = float(np.median(entry["methods"][m]["final"][entry["methods"][m]["chosen"]]))
        self.start.set_data([0], [entry["methods"][self.methods[0]]["runs"][0]["loss"][0]])
        curv = np.median([s["layer_curvature"] for s in entry["spectrum"]], axis=0)
        self.curv.set_data(np.arange(1, len(curv) + 1), curv)
        ratio = float(curv[-1] / curv[0])
        sizes = "-".join(str(s) for s in entry["sizes"])
        best = min(finals, key=finals.__getitem__)
        budget = self.result["config"]["budget_passes"]
        return (f"depth {depth} ({sizes}): lowest median training loss at {budget:g} passes: {best} "
                f"({finals[best]:.3g}); mean curvature of the last weight matrix / the first: {ratio:.2g}")


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``: moves are look-ups."""
    return [("HF regimes (stored runs)", RegimePanel, {"depth": [1, 3, 5]})]
