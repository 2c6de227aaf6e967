"""The package's layout is the course's: checked, so that it stays that way (CONTRIBUTING, "Where things go")."""

import ast
import importlib
from pathlib import Path

import mbp_teach

PKG = Path(mbp_teach.__file__).parent


def test_at_most_six_top_level_modules_everything_else_in_a_part_or_role():
    modules = sorted(p.name for p in PKG.glob("*.py"))
    assert len(modules) <= 6, modules
    roles = {"panels", "course", "bench", "experiments"}
    folders = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(mbp_teach.PARTS) | roles


def test_every_part_has_its_exercises_and_plots_modules():
    for part in mbp_teach.PARTS:
        for kind in ("exercises", "plots"):
            assert (PKG / part / f"{kind}.py").is_file(), f"mbp_teach/{part}/{kind}.py"
        importlib.import_module(f"mbp_teach.{part}.exercises")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_panels_and_course_tools_import_widgets():
    """Model, solver and plot code stays usable without ipywidgets (and without a notebook)."""
    allowed = {"panels.py", "exercises.py"}  # and a part's further panel modules, e.g. momentum/dag_panels.py
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("panels", "course", "bench") or rel.name in allowed or rel.name.endswith("_panels.py"):
            continue
        if rel == Path("notebook.py"):  # notebook.show displays a figure: it is the display helper
            continue
        widgetish = {m for m in _imports(path) if m.split(".")[0] == "ipywidgets" or m.startswith("mbp_teach.panels")}
        if widgetish:
            offenders.append(f"{rel}: {sorted(widgetish)}")
    assert not offenders, offenders
