"""The student edition: every solution replaced by a stub, everything else as the instructor has it.

Committed notebooks are the instructor edition. Solutions sit between nbgrader-style markers:

    code:      ### BEGIN SOLUTION ... ### END SOLUTION   -> raise NotImplementedError(...)
    markdown:  <!-- BEGIN SOLUTION --> ... <!-- END SOLUTION -->   -> *Your answer here.*

``python -m mbp_teach.course.student [OUT]`` (``make student``) writes ``build/student/*.ipynb``. Cells that
held a solution lose their outputs; the lesson above the exercises keeps its outputs so it can be
read before it is run. ``exercise_section(nb)`` gives the setup cell plus the exercises, which is
what the tests execute in both editions.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from mbp_teach.course.paths import REPO as ROOT

CODE_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)
TEXT_SOLUTION = re.compile(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", re.S)
EXERCISES_HEADING = re.compile(r"^##\s+Exercises\b", re.M)
EXERCISE_HEADING = re.compile(r"^###\s+Exercise\s+\d+\s*\((derive|implement|explore)\)", re.M)
STUB = 'raise NotImplementedError("your code here: replace this line")\n'


def strip_solutions(source: str, cell_type: str) -> tuple[str, int]:
    """``source`` with each solution replaced by a stub, and how many were replaced."""
    if cell_type == "code":
        return CODE_SOLUTION.subn(lambda m: m.group(1) + STUB, source)
    if cell_type == "markdown":
        return TEXT_SOLUTION.subn("*Your answer here.*", source)
    return source, 0


def student_edition(nb):
    """A copy of ``nb`` with solutions stubbed out (outputs of the changed cells cleared)."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        cell.source, n = strip_solutions(cell.source, cell.cell_type)
        if n and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out


def count_solutions(nb) -> int:
    return sum(strip_solutions(c.source, c.cell_type)[1] for c in nb.cells)


def exercise_start(nb) -> int | None:
    """Index of the '## Exercises' markdown cell, or None."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source):
            return i
    return None


def exercise_kinds(nb) -> list[str]:
    start = exercise_start(nb)
    if start is None:
        return []
    return [m.group(1) for c in nb.cells[start:] if c.cell_type == "markdown" for m in EXERCISE_HEADING.finditer(c.source)]


def exercise_section(nb):
    """The set-up cell (the one calling ``nbk.setup()``) followed by the exercises: runnable on its own."""
    start = exercise_start(nb)
    if start is None:
        raise ValueError("notebook has no '## Exercises' section")
    first = next((c for c in nb.cells if c.cell_type == "code" and "nbk.setup(" in c.source), None)
    if first is None:
        raise ValueError("notebook has no set-up cell calling nbk.setup()")
    part = copy.deepcopy(nb)
    part.cells = [copy.deepcopy(first)] + copy.deepcopy(nb.cells[start:])
    return part


def build(out_dir: Path = ROOT / "build" / "student", notebooks: list[Path] | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        target = out_dir / path.name
        nbformat.write(student_edition(nb), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.student", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "student"))
    args = parser.parse_args(argv)
    for path in build(Path(args.out)):
        nb = nbformat.read(path, as_version=4)
        print(f"{path}: {len(exercise_kinds(nb))} exercises")
    return 0


if __name__ == "__main__":
    sys.exit(main())
