"""Figures of part 2 (notebook 02, ``python -m mbp_teach.bench gradients``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: {solver: {method: {batch size: backward seconds}}}, as ``mbp_teach.bench.gradients`` measures it
Times = Mapping[str, Mapping[str, Mapping[int, float]]]


def backward_time_figure(times: Times, path_name: str | None = None, clock: str = "wall",
                         legends: Sequence[str] = ()) -> Figure:
    """Backward time against batch size, log-log, one panel per solver, one line per method (in the order of
    ``times[solver]``: the first three solid, further baselines dashed). The first panel has the legend, and
    so (smaller) have the panels named in ``legends`` (e.g. those with extra baselines). Saved as
    ``path_name`` if given (``mbp_teach.notebook.save_figure``); ``clock`` ("wall" or "cpu") labels the y axis."""
    from mbp_teach.notebook import save_figure
    from mbp_teach.plotting import new_figure

    names = list(times)
    fig, axes = new_figure(1, len(names), figsize=(3.3 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for k, (method, by_batch) in enumerate(times[name].items()):
            pts = sorted((int(b), t) for b, t in by_batch.items())
            if pts:
                ax.loglog([p[0] for p in pts], [1e3 * p[1] for p in pts], "o-" if k < 3 else "s--", color=f"C{k}",
                          label=method, ms=3)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("batch size (problems)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("backward CPU time (ms)" if clock == "cpu" else "backward time (ms)")
    axes[0][0].legend(fontsize=8)
    for name in legends:
        if name in names[1:]:
            axes[0][names.index(name)].legend(fontsize=6)
    fig.tight_layout()
    if path_name:
        save_figure(fig, path_name)
    return fig
