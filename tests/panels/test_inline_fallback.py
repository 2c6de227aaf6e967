"""Without ipympl (Colab, or an install without it) every panel still responds: it shows a still PNG
that each slider move renders again, and ``nbk.use_backend`` picks the inline backend by itself."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import pytest  # noqa: E402

from mbp_teach.bench import widgets as bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

CHOOSE = """
import sys
sys.modules["ipympl"] = None  # as if ipympl were not installed: importing it raises ImportError
from IPython.core.interactiveshell import InteractiveShell
class Shell(InteractiveShell):  # a kernel's shell: GUI event loops are not its business
    def enable_gui(self, gui=None):
        pass
Shell.instance()
from mbp_teach import notebook as nbk
print(nbk.use_backend())
import matplotlib
print(matplotlib.get_backend())
"""


def test_use_backend_falls_back_to_inline_without_ipympl_and_says_so():
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", CHOOSE], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("Figures are still pictures: ipympl is not usable here")
    assert lines[1] == "inline" and "inline" in lines[2]


def _first_case_per_module():
    seen, cases = set(), []
    for mod in bench.panel_modules():
        import importlib

        name, factory, sweeps = importlib.import_module(mod).bench_cases()[0]
        if mod not in seen:
            seen.add(mod)
            cases.append(pytest.param(factory, sweeps, id=name))
    return cases


@pytest.mark.parametrize(("factory", "sweeps"), _first_case_per_module())
def test_every_panel_redraws_its_still_picture_when_a_slider_moves(factory, sweeps):
    panel = factory()
    box = panel.widget()
    for name, c in panel.controls.items():  # every control says what it sets, and its label is shown whole
        assert c.description and c.style.description_width == "initial", name
    images = [w for w in _walk(box) if isinstance(w, widgets.Image)]
    assert images == [panel.still] and panel.still.value[:8] == b"\x89PNG\r\n\x1a\n"
    before = panel.still.value
    control, values = next(iter(sweeps.items()))
    new = next(v for v in values if v != panel.controls[control].value)
    panel.controls[control].value = new  # what the browser does: the observer fires update()
    assert panel.still.value != before, f"{control} = {new} left the picture unchanged"


def _walk(w):
    yield w
    for child in getattr(w, "children", ()):
        yield from _walk(child)
