"""The widget benchmark finds every panel module by itself."""

import importlib
import inspect
import pkgutil

import mbp_teach
from mbp_teach.bench import widgets
from mbp_teach.panels.base import Panel


def test_every_module_defining_a_panel_is_benchmarked():
    with_panels = []
    for m in pkgutil.walk_packages(mbp_teach.__path__, "mbp_teach."):
        mod = importlib.import_module(m.name)
        classes = [c for _, c in inspect.getmembers(mod, inspect.isclass) if c.__module__ == mod.__name__]
        if any(issubclass(c, Panel) and c is not Panel for c in classes):
            with_panels.append(mod.__name__)
    assert with_panels and set(with_panels) <= set(widgets.panel_modules())


def _plain_frame(fig, blitter):
    """The figure drawn the ordinary way (no artist animated), as savefig or a non-blitting panel would."""
    import numpy as np

    saved, follow = blitter.artists, blitter.follow
    for a in saved + follow:
        a.set_animated(False)
    blitter.artists, blitter.follow = [], []
    fig.canvas.draw()
    frame = np.asarray(fig.canvas.buffer_rgba()).copy()
    for a in saved + follow:
        a.set_animated(True)
    blitter.artists, blitter.follow = saved, follow
    fig.canvas.draw()  # a fresh background again
    return frame


def test_every_benchmarked_move_is_blitted_and_shows_what_a_full_draw_shows():
    """A move must not need a full redraw, and every artist it changes must be among the blitted ones:
    otherwise the blitted frame would keep a stale title, curve or tick label that a full draw updates."""
    import matplotlib
    import numpy as np
    import torch

    matplotlib.use("Agg")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as nbk.setup() in the notebooks
    try:
        for name, factory, sweeps in widgets.cases():
            panel = factory()
            panel.fig.canvas.draw()
            for control, values in sweeps.items():
                assert panel.update(**{control: values[-1]}) in (True, False)
                assert panel.redraw() == "blit", (name, control)
                blitted = np.asarray(panel.fig.canvas.buffer_rgba()).copy()
                differ = (blitted != _plain_frame(panel.fig, panel.blitter)).any(-1).mean()
                # z-order only: a blitted artist is drawn over the axes frame instead of under it
                assert differ < 0.003, (name, control, differ)
            matplotlib.pyplot.close(panel.fig)
    finally:
        torch.set_default_dtype(old)
