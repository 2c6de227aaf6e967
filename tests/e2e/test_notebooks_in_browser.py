"""Every notebook in notebooks/, opened in JupyterLab in headless Chromium: it runs without an
error, and its first live control, changed from the keyboard, redraws its figure.

Run with ``make e2e``. Screenshots of the figure before and after go to figures/screenshots/;
on failure a screenshot of the whole page goes to build/e2e/.
"""

from __future__ import annotations

import io
import os

import pytest
from lab_page import NotebookProblem, check_notebook
from lab_server import NOTEBOOKS, REQUIRED_EXTENSIONS, ROOT, missing_extensions

SHOTS = ROOT / "figures" / "screenshots"
FAILURES = ROOT / "build" / "e2e"
RUN_TIMEOUT = float(os.environ.get("MBP_TEACH_E2E_RUN_TIMEOUT", "600"))  # seconds for Run All Cells

pytestmark = pytest.mark.e2e


def save_small_png(png: bytes, path) -> None:
    """Store a screenshot with a 256-colour palette: a third of the size, same picture to the eye."""
    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(path, optimize=True)


def test_widget_extensions_are_installed_in_venv():
    assert missing_extensions() == [], (
        f"JupyterLab extensions missing or disabled in .venv (need {REQUIRED_EXTENSIONS}): "
        "reinstall ipympl and ipywidgets (make setup), then `.venv/bin/jupyter labextension list`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_its_control_redraws(page, lab, path):
    served = lab.root / path.name  # the copy JupyterLab shows, frozen when the server started
    try:
        result = check_notebook(page, lab.notebook_url(path.name), served, run_timeout=RUN_TIMEOUT)
    except NotebookProblem as exc:
        problem = str(exc)
    else:
        problem = None
    if problem:
        FAILURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=FAILURES / f"{path.stem}.png", full_page=True)
        pytest.fail(f"{problem}\n(screenshot of the page: {FAILURES / (path.stem + '.png')})", pytrace=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    save_small_png(result.before_png, SHOTS / f"{path.stem}_before.png")
    save_small_png(result.after_png, SHOTS / f"{path.stem}_after.png")
    seen = (f"{result.changed_pixels} of {result.total_pixels} figure pixels changed, {result.ink_after} of "
            f"{result.ink_before} drawn pixels still drawn" if result.changed_pixels
            else "the figure did not change, the panel's text did")
    print(f"{path.name}: ran all cells in {result.run_seconds:.1f} s; {result.control} in code cell "
          f"{result.control_cell}: {result.value_before} -> {result.value_after}; {seen}, settled in "
          f"{result.redraw_seconds:.1f} s" + "".join(f"\n  stderr {n}" for n in result.stderr_notes)
          + "".join(f"\n  benign console error ignored: {e[:160]}" for e in result.console_ignored))
    assert result.changed_pixels > 0 or result.text_changed
