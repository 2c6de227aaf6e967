"""Committed notebooks: executed, no errors, no memory addresses, no half-stored widget state."""

import json
import sys
from pathlib import Path

import pytest

from mbp_teach.course import nbtools

ROOT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT_DIR / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    assert nbtools.problems(path) == []


def _nb(cells, metadata=None, colab=True):
    first = [_code(nbtools.COLAB_CELL)] if colab else []
    return {"cells": first + cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source, count=1, outputs=()):
    return {"cell_type": "code", "source": source, "execution_count": count, "metadata": {}, "outputs": list(outputs)}


@pytest.mark.parametrize(
    "notebook, expected",
    [
        (_nb([_code("x = 1", count=None)]), "not executed"),
        (_nb([_code("1/0", outputs=[{"output_type": "error", "ename": "ZeroDivisionError"}])]), "error"),
        (
            _nb([_code("f", outputs=[{"output_type": "execute_result", "data": {"text/plain": "<F at 0x7f3a2b1c>"}}])]),
            "memory address",
        ),
        (_nb([_code("x")], colab=False), "Colab"),
        (_nb([_code("x")], {"widgets": {"application/vnd.jupyter.widget-state+json": {"version_major": 2}}}), "state"),
    ],
)
def test_problems_are_detected(tmp_path, notebook, expected):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    found = nbtools.problems(path)
    assert len(found) == 1 and expected in found[0]


def test_clean_notebook_has_no_problems(tmp_path):
    path = tmp_path / "nb.ipynb"
    out = {"output_type": "stream", "name": "stdout", "text": "ok\n"}
    path.write_text(json.dumps(_nb([_code("print('ok')", outputs=[out]), _code("", count=None)])))
    assert nbtools.problems(path) == []


def test_colab_cell_is_added_once_and_is_inert_outside_colab():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1")])
    assert nbtools.add_colab_cell(nb) and not nbtools.add_colab_cell(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"] and nb.cells[1].source == nbtools.COLAB_CELL
    from IPython.core.inputtransformer2 import TransformerManager

    namespace: dict = {}
    exec(TransformerManager().transform_cell(nbtools.COLAB_CELL), {"get_ipython": None}, namespace)
    assert "output" not in namespace  # the Colab branch did not run


def test_notebooks_fit_the_size_budget():
    total = sum(p.stat().st_size for p in NOTEBOOKS)
    budget = nbtools.NOTEBOOKS_BUDGET
    assert total < budget, f"notebooks/ holds {total / 1e6:.2f} MB, over the {budget / 1e6:.0f} MB budget"


def _png() -> str:
    """A small line plot as matplotlib draws it (antialiased lines and text), base64-encoded."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    from mbp_teach.plotting import new_figure

    fig, ax = new_figure(figsize=(3, 2), dpi=72)
    ax.plot([0, 1, 2], [0, 1, 0.5], label="a line")
    ax.set_xlabel("step k")
    ax.legend()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return base64.b64encode(out.getvalue()).decode()


def test_slim_drops_only_the_html_copy_of_a_png():
    png = _png()
    copy = {"image/png": png, "text/html": f"<div>Figure</div><img src='data:image/png;base64,{png}'/>", "text/plain": "Canvas"}
    own = {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "table"}
    nb = {"cells": [{"cell_type": "code", "outputs": [{"data": dict(copy)}, {"data": dict(own)}]}]}
    assert nbtools.slim(nb) == 1
    kept = [o["data"] for o in nb["cells"][0]["outputs"]]
    assert set(kept[0]) == {"image/png", "text/plain"} and kept[1] == own


def test_palette_png_keeps_the_picture_and_leaves_transparency_and_garbage_alone():
    import base64
    import io

    import numpy as np
    from PIL import Image

    def pixels(b64):
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA"))

    original = _png()
    small = nbtools.palette_png(original)
    assert Image.open(io.BytesIO(base64.b64decode(small))).mode == "P"
    assert len(small) < len(original) / 2
    # a plot's few colours fit the palette: the mean pixel moves by less than one level of 255
    assert np.abs(pixels(small).astype(int) - pixels(original)).mean() < 1.0
    clear = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 255, 255, 0)).save(clear, "PNG")
    transparent = base64.b64encode(clear.getvalue()).decode()
    assert nbtools.palette_png(transparent) == transparent
    assert nbtools.palette_png("bm90IGEgcG5n") == "bm90IGEgcG5n"


def test_install_source_is_one_setting_filled_from_the_remote(tmp_path, monkeypatch):
    text = (ROOT_DIR / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.setattr(nbtools, "REPO", tmp_path)
    assert nbtools.install_source() == nbtools.REPO_URL  # the committed setting
    assert nbtools.source_from_remote("git@github.com:a-course/mbp_teach.git\n") == "https://github.com/a-course/mbp_teach"
    assert nbtools.source_from_remote("https://gitlab.example.org/x/y.git") == "https://gitlab.example.org/x/y"
    with pytest.raises(ValueError, match="remote"):
        nbtools.source_from_remote("/home/me/mbp_teach")
    assert nbtools.set_install_source("https://github.com/a-course/mbp_teach")
    assert not nbtools.set_install_source("https://github.com/a-course/mbp_teach")
    assert nbtools.install_source() == "https://github.com/a-course/mbp_teach"
    assert 'SOURCE = "https://github.com/a-course/mbp_teach"' in nbtools.colab_cell()
    # only the setting changed, nothing else in pyproject.toml
    assert (tmp_path / "pyproject.toml").read_text() == text.replace(nbtools.REPO_URL, "https://github.com/a-course/mbp_teach")


def test_colab_cell_says_in_one_line_when_the_source_cannot_be_installed():
    import subprocess as sp

    from IPython.core.inputtransformer2 import TransformerManager

    class Failed:
        returncode, stderr = 1, "ERROR: Repository not found.\n"

    google = type(sys)("google")
    colab = type(sys)("google.colab")
    colab.output = type("O", (), {"enable_custom_widget_manager": staticmethod(lambda: None)})
    printed = []
    namespace = {"print": printed.append}
    real_run = sp.run
    try:
        sp.run = lambda *a, **k: Failed()
        sys.modules.update({"google": google, "google.colab": colab})
        exec(TransformerManager().transform_cell(nbtools.COLAB_CELL), {"get_ipython": None}, namespace)
    finally:
        sp.run = real_run
        sys.modules.pop("google.colab", None)
        sys.modules.pop("google", None)
    assert printed == [f"Could not install mbp_teach from {nbtools.REPO_URL}: ERROR: Repository not found."]
