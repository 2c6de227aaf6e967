"""nbgrader assignments made from the lesson notebooks: ``python -m mbp_teach.course.assignments [OUT]``.

``make assignments`` writes an nbgrader course directory (``build/assignments/``): ``source/NN_name/``
holds each lesson with nbgrader's cell metadata, derived here at build time from the markers the notebooks
already use, and ``release/NN_name/`` the students' copies made by ``nbgrader generate_assignment``
(nbgrader itself, from ``requirements-instructor.txt``; no JupyterHub: the gradebook is a SQLite file
in the course directory). Derivation, cell by cell:

- a code cell with ``### BEGIN SOLUTION`` is a *solution* cell (nbgrader's "autograded answer");
- a code cell calling ``ex.check("NN.name", fn)`` is an *autograded test* cell worth ``POINTS`` points.
  When the call shares its cell with the solution, the cell is split at the call. If the test has no
  ``### BEGIN HIDDEN TESTS`` block, one is added: it runs the same checker (whose cases the notebook
  never shows) and fails with the checker's hint, so the hint is what ``nbgrader generate_feedback``
  shows. The visible ``ex.check`` line only prints the verdict, as in the student edition;
- a markdown cell with ``<!-- BEGIN SOLUTION -->`` is split around the marked region, which becomes a
  *manually graded answer* worth ``POINTS`` points (derive and explore questions are read by a person).

The stubs nbgrader writes are those of ``make student`` (``mbp_teach.course.student``), so the two editions
agree. ``--exercises-only`` makes assignments of the set-up cell plus the Exercises section only (the
section runs on its own), which autograde in seconds.

The ``python3`` kernel nbgrader starts is the suite's own ``.venv`` (a kernelspec in the course
directory, found through ``JUPYTER_PATH``), so nbgrader can live in its own environment.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from mbp_teach.course import student
from mbp_teach.course.paths import REPO as ROOT

POINTS = 2
CHECK = re.compile(r"""^[ \t]*ex\.check\(\s*(["'])(?P<key>[^"']+)\1\s*,\s*(?P<fn>[A-Za-z_]\w*)\s*\)\s*;?\s*$""", re.M)
HIDDEN = "### BEGIN HIDDEN TESTS"
TEXT_BEGIN, TEXT_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
EXERCISE_NUMBER = re.compile(r"^###\s+Exercise\s+(\d+)", re.M)

# nbgrader's configuration for the course: stubs identical to `make student`'s, generous cell timeouts.
NBGRADER_CONFIG = f"""# Written by mbp_teach.course.assignments: the stubs are those of `make student`.
c = get_config()
c.CourseDirectory.root = {{root!r}}
c.ClearSolutions.code_stub = {{{{"python": {student.STUB.rstrip()!r}}}}}
c.ClearSolutions.text_stub = "*Your answer here.*"
c.Execute.timeout = 900
c.Execute.interrupt_on_timeout = True
"""


def hidden_tests(key: str, fn: str) -> str:
    """The hidden part of a test cell: the checker must accept ``fn``, else its hint is the failure."""
    return (f"{HIDDEN}\n"
            f"_verdict = ex.run({key!r}, {fn})  # the checker's hidden cases\n"
            "assert _verdict.passed, str(_verdict)\n"
            "### END HIDDEN TESTS\n")


def _meta(grade_id: str, *, solution: bool, grade: bool, points: int | None = None, locked: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _code_cell(source: str, like) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = copy.deepcopy(like.metadata)
    return cell


def _split_markdown(source: str) -> list[tuple[str, bool]]:
    """``source`` cut into (text, is_solution) pieces around each marked region (markers kept)."""
    pieces, rest = [], source
    while TEXT_BEGIN in rest and TEXT_END in rest.split(TEXT_BEGIN, 1)[1]:
        before, after = rest.split(TEXT_BEGIN, 1)
        inside, rest = after.split(TEXT_END, 1)
        pieces += [(before.strip("\n"), False), (TEXT_BEGIN + inside + TEXT_END, True)]
    pieces.append((rest.strip("\n"), False))
    return [(text, sol) for text, sol in pieces if text.strip()]


def derive_metadata(nb, points: int = POINTS):
    """A copy of ``nb`` with nbgrader's cell metadata derived from the solution markers and ``ex.check`` calls.

    Cells holding a solution and a check, or text around a written answer, are split so that each cell
    has one role. Returns the notebook; ``grade_id``s are ``exN-solution``, ``exN-check``, ``exN-answer``
    (N the number of the ``### Exercise N`` heading above, ``-2``, ``-3`` added when one repeats).
    """
    out = copy.deepcopy(nb)
    cells, number, used = [], 0, set()

    def gid(role: str) -> str:
        base = f"ex{number}-{role}"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        return name

    for cell in out.cells:
        if cell.cell_type == "markdown":
            for text, is_solution in _split_markdown(cell.source):
                new = nbformat.v4.new_markdown_cell(text)
                new.metadata = copy.deepcopy(cell.metadata)
                if is_solution:
                    new.metadata["nbgrader"] = _meta(gid("answer"), solution=True, grade=True, points=points)
                else:
                    found = EXERCISE_NUMBER.findall(text)
                    number = int(found[-1]) if found else number
                cells.append(new)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        has_solution = bool(student.CODE_SOLUTION.search(cell.source))
        check = CHECK.search(cell.source)
        if check and has_solution and check.start() > student.CODE_SOLUTION.search(cell.source).end() - 1:
            head, tail = cell.source[:check.start()].rstrip("\n") + "\n", cell.source[check.start():]
            sol = _code_cell(head, cell)
            sol.metadata["nbgrader"] = _meta(gid("solution"), solution=True, grade=False)
            cells.append(sol)
            cell = _code_cell(tail, cell)
            has_solution = False
        if check and not has_solution:
            source = cell.source.rstrip("\n") + "\n"
            if HIDDEN not in source:
                source += hidden_tests(check.group("key"), check.group("fn"))
            cell.source = source
            cell.outputs, cell.execution_count = [], None
            cell.metadata["nbgrader"] = _meta(gid("check"), solution=False, grade=True, points=points, locked=True)
        elif has_solution:
            cell.metadata["nbgrader"] = _meta(gid("solution"), solution=True, grade=False)
        cells.append(cell)
    out.cells = cells
    return out


def graded_cells(nb) -> dict[str, dict]:
    """grade_id -> nbgrader metadata of every cell that has any."""
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata}


def lessons() -> list[Path]:
    """The notebooks that have an Exercises section."""
    return [p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
            if student.exercise_start(nbformat.read(p, as_version=4)) is not None]


# ---- nbgrader itself -----------------------------------------------------------------------

def find_nbgrader() -> str | None:
    """The ``nbgrader`` command: $MBP_TEACH_NBGRADER, the instructor venv of ``make assignments``, or PATH."""
    for candidate in (os.environ.get("MBP_TEACH_NBGRADER"), ROOT / ".venv-instructor" / "bin" / "nbgrader",
                      shutil.which("nbgrader")):
        if candidate and Path(candidate).is_file():
            return os.path.abspath(candidate)
    return None


def kernel_env(course: Path, exe: str | None = None) -> dict[str, str]:
    """Environment for nbgrader: its ``python3`` kernel is this interpreter (the suite's venv), and the
    commands nbgrader calls (``alembic``) come from nbgrader's own environment."""
    spec = course / ".jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (mbp_teach)", "language": "python"}, indent=1))
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join([str(course / ".jupyter"), env.get("JUPYTER_PATH", "")]).rstrip(os.pathsep)
    env.setdefault("MPLBACKEND", "Agg")
    if exe:
        env["PATH"] = os.pathsep.join([str(Path(exe).parent), env.get("PATH", "")])
    return env


def nbgrader(course: Path, *args: str, command: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    exe = command or find_nbgrader()
    if exe is None:
        raise FileNotFoundError("nbgrader is not installed: run `make assignments` (it installs "
                                "requirements-instructor.txt into .venv-instructor)")
    proc = subprocess.run([exe, *args], cwd=course, env=kernel_env(course, exe), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-4000:]}")
    return proc


def write_course(course: Path, notebooks: list[Path] | None = None, exercises_only: bool = False) -> list[str]:
    """``course/nbgrader_config.py`` and ``course/source/NAME/NAME.ipynb`` with derived metadata; the names."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(course.resolve())))
    names = []
    for path in notebooks or lessons():
        nb = nbformat.read(path, as_version=4)
        if exercises_only:
            nb = student.exercise_section(nb)
        name = path.stem
        target = course / "source" / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        nbformat.write(derive_metadata(nb), target / path.name)
        names.append(name)
    return names


def build(course: Path = ROOT / "build" / "assignments", notebooks: list[Path] | None = None,
          exercises_only: bool = False, command: str | None = None) -> list[Path]:
    """The course directory: source with metadata, then release by ``nbgrader generate_assignment``."""
    names = write_course(course, notebooks, exercises_only)
    released = []
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force", "--create", command=command)
        released += sorted((course / "release" / name).glob("*.ipynb"))
    return released


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.assignments", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "assignments"))
    parser.add_argument("--exercises-only", action="store_true",
                        help="assignments of the set-up cell and the Exercises section only")
    parser.add_argument("--nbgrader", default=None, help="the nbgrader command (default: .venv-instructor's)")
    args = parser.parse_args(argv)
    for path in build(Path(args.out), exercises_only=args.exercises_only, command=args.nbgrader):
        nb = nbformat.read(path, as_version=4)
        cells = graded_cells(nbformat.read(Path(args.out) / "source" / path.parent.name / path.name, as_version=4))
        auto = sum(m["points"] for m in cells.values() if m["grade"] and not m["solution"])
        manual = sum(m["points"] for m in cells.values() if m["grade"] and m["solution"])
        print(f"{path}: {len(nb.cells)} cells, {auto} autograded + {manual} manually graded points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
