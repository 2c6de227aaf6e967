"""The browser check itself must be able to fail: small notebooks with one planted fault each.

Each notebook shows a slider next to an ipympl figure, as mbp_teach.panels.base.Panel does; the
faults are the ones the check exists for: a callback that raises (its traceback goes to
JupyterLab's log console, not to a cell), a callback that leaves the figure as it was, a notebook
without a control, and a cell that raises. The fault-free version must pass, so each failure
is due to its fault and not to the set-up.
"""

from __future__ import annotations

import json

import pytest
from lab_page import NotebookProblem, check_notebook
from lab_server import LabServer

pytestmark = pytest.mark.e2e

HEAD = """%matplotlib widget
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

with plt.ioff():
    fig, ax = plt.subplots(figsize=(4, 2.5))
x = np.linspace(0, 6, 200)
(line,) = ax.plot(x, np.sin(x))
slider = widgets.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.1, description="frequency")
"""

CALLBACKS = {
    "good": "line.set_ydata(np.sin(change['new'] * x)); fig.canvas.draw_idle()",
    "raises": "raise RuntimeError('planted fault in a slider callback')",
    # Computes the new curve and never hands it to the figure (pyplot's auto-redraw in
    # interactive mode would hide a missing draw_idle, so that is not a fault here).
    "dead": "np.sin(change['new'] * x)",
}


def notebook(*sources: str) -> dict:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s}
             for s in sources]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


def panel(callback: str) -> str:
    return (f"def on_change(change):\n    {callback}\n\n"
            "slider.observe(on_change, names='value')\ndisplay(widgets.VBox([slider, fig.canvas]))")


CASES = {
    "good": (notebook(HEAD, panel(CALLBACKS["good"])), None),
    "callback_raises": (notebook(HEAD, panel(CALLBACKS["raises"])), "planted fault in a slider callback"),
    "figure_unchanged": (notebook(HEAD, panel(CALLBACKS["dead"])), "nothing shown changed"),
    "no_control": (notebook(HEAD, "display(fig.canvas)"), "no live control found"),
    "cell_raises": (notebook(HEAD, "1 / 0", panel(CALLBACKS["good"])), "ZeroDivisionError"),
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    paths = {}
    for name, (nb, _) in CASES.items():
        paths[name] = folder / f"{name}.ipynb"
        paths[name].write_text(json.dumps(nb))
    with LabServer(list(paths.values())) as server:
        yield server, paths
    assert not server.leftovers()


@pytest.mark.parametrize("case", CASES)
def test_planted_fault_is_reported(page, planted, case):
    server, paths = planted
    expected = CASES[case][1]
    try:
        check_notebook(page, server.notebook_url(paths[case].name), paths[case], run_timeout=120, redraw_timeout=10)
    except NotebookProblem as exc:
        assert expected is not None, f"the fault-free notebook failed: {exc}"
        assert expected in str(exc), f"reported, but not as expected ({expected!r}): {exc}"
        return
    finally:
        server.shutdown_kernels()
    assert expected is None, f"{case}: the check passed a notebook with a planted fault ({expected!r})"
