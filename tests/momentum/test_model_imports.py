"""Model code of parts 3-5 computes without widgets or figures: those live in ``panels`` and ``plots``.

Each import runs in a fresh interpreter, so a module another test imported first cannot hide a
dependency: the model modules must load without ipywidgets, the panel machinery or pyplot, and
the ``plots`` modules without ipywidgets or the panel machinery.
"""

import json
import subprocess
import sys

import pytest

MODEL = [f"mbp_teach.minbackprop.{m}" for m in ("exercises", "filter", "pose", "ransac", "report", "sampling",
                                                 "toys", "train")]
MODEL += [f"mbp_teach.momentum.{m}" for m in ("adaptive", "autoencoder", "dagnet", "exercises", "heavy_ball", "skip")]
PLOTS = ["mbp_teach.minbackprop.plots", "mbp_teach.momentum.plots", "mbp_teach.momentum.dag_plots"]


def loaded_after_import(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` are in sys.modules after importing ``modules`` in a fresh interpreter."""
    code = (f"import importlib, json, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
            f"print(json.dumps([w for w in {watched!r} if w in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("modules, watched", [
    (MODEL, ("ipywidgets", "mbp_teach.panels", "matplotlib.pyplot")),
    (PLOTS, ("ipywidgets", "mbp_teach.panels")),
])
def test_no_widgets_in_model_code(modules, watched):
    assert loaded_after_import(modules, watched) == []


def test_the_check_sees_a_widget_import():
    # the panels do import ipywidgets: the subprocess check is not blind to it
    assert loaded_after_import(["mbp_teach.momentum.panels"], ("ipywidgets",)) == ["ipywidgets"]
