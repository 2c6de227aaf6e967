"""Adding a solver touches one file: CONTRIBUTING.md's worked example, written into a temporary module and
imported, is differentiated three ways, compared, benchmarked and listed like the built-in solvers.

Also: the registry's rules, and that the shared machinery names no solver in its code."""

import ast
import importlib
import pathlib
import re
import sys

import pytest
import torch

from mbp_teach import solvers
from mbp_teach.bench import gradients as bench_gradients
from mbp_teach.bench import solvers as bench_solvers
from mbp_teach.gradients import compare as gc
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers.spec import SPECS, register

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOUNDS = {"autograd": 1e-9, "ift": 1e-9, "ddn": 1e-9, "fd": 1e-7}


def contributing_example() -> str:
    """The first python block of CONTRIBUTING.md's "## Adding a solver" section."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("\n## Adding a solver\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy_unit_vector.py").write_text(contributing_example(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = list(SPECS)
    module = importlib.import_module("toy_unit_vector")
    yield module
    SPECS.pop("unit_vector", None)  # leave the registry as the other tests expect it
    sys.modules.pop("toy_unit_vector", None)
    assert list(SPECS) == before


def test_the_example_is_compared_with_all_three_backwards(toy):
    assert "unit_vector" in gp.SOLVERS and list(gp.SOLVERS)[-1] == "unit_vector"
    x = gp.inputs("unit_vector", 3, seed=1)
    table = gc.compare(gp.loss("unit_vector"), x, reference=gp.reference("unit_vector", x))
    assert [r.method for r in table] == list(gc.METHODS)
    for row in table:
        assert row.rel_error < BOUNDS[row.method] and row.nonfinite == 0 and row.flagged == 0, row
    # and the value is the closed form's: y = x/|x|, dy/dx = (I - y y^T)/|x|
    (x0,) = x
    assert torch.allclose(toy.unit_vector(x0), x0 / x0.norm(dim=-1, keepdim=True), atol=1e-15)


def test_the_example_is_benchmarked_like_the_built_in_solvers(toy):
    cases = bench_solvers._cases(4, 10, torch.float64)
    assert list(cases)[-1] == "unit_vector" and cases["unit_vector"][0] is toy.unit_vector
    assert bench_gradients.methods("unit_vector") == bench_gradients.METHODS
    shares = bench_gradients.failure_shares("unit_vector", 20)
    for rows in shares.values():
        assert all(r["nonfinite"] == 0 and r["differs_from_ift"] == 0 for r in rows.values())


def test_the_example_refuses_bad_input_and_unknown_modes(toy):
    with pytest.raises(ValueError, match="non-zero"):
        toy.unit_vector(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="backward"):
        toy.unit_vector(torch.ones(2, 3, dtype=torch.float64), backward="adjoint")


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register(solvers.SolverSpec(name="kabsch", solver=lambda *x: x, forward=lambda *x: x,
                                    residual=lambda y, *x: y, node=None, inputs=lambda *a: (),
                                    loss=lambda out: out, bench=lambda *a: ()))
    assert SPECS["kabsch"].solver is solvers.kabsch


def test_the_registry_lists_the_solvers_in_the_course_order():
    assert list(SPECS) == ["kabsch", "rigid_transform", "eight_point", "five_point"]
    for name, spec in SPECS.items():
        assert spec.name == name and getattr(solvers, name) is spec.solver
    assert not [n for n in solvers.__all__ if n.startswith("_")]


def _code_strings(path: pathlib.Path) -> list[str]:
    """Every string constant of a module's code, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


@pytest.mark.parametrize("module", ["backward", "implicit", "ddn", "essential_tangent", "compare", "finite_diff",
                                    "problems", "plots"])
def test_the_shared_machinery_names_no_solver(module):
    path = ROOT / "mbp_teach" / "gradients" / f"{module}.py"
    names = [*SPECS, "companion_roots"]
    found = [(s, n) for s in _code_strings(path) for n in names if n in s]
    assert not found, f"{module}.py names a solver in its code: {found}"
    imports = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("mbp_teach.solvers")]
    assert module == "problems" or not imports, "the machinery must not import the solvers (import cycle)"
