"""Committed notebooks: executed, no errors, no memory addresses, no half-stored widget state."""

import json
from pathlib import Path

import pytest

from mbp_teach import nbtools

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


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
