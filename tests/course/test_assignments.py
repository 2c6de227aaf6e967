"""nbgrader assignments (mbp_teach.course.assignments): metadata derived from the markers, the two editions
agree, and the autograding round trip. The nbgrader tests need nbgrader (`make autograde` installs it
into .venv-instructor and runs them; CI does); without it they are skipped."""

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from mbp_teach.course import assignments, student

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "04_momentum_lab.ipynb"


def synthetic():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        code("from mbp_teach import notebook as nbk\ngen = nbk.setup()"),
        md("## Exercises\n\n### Exercise 1 (derive)\nShow it.\n\n<!-- BEGIN SOLUTION -->\n**Solution.** Done.\n"
           "<!-- END SOLUTION -->\n\n### Exercise 2 (implement)\nWrite `f`."),
        code("from mbp_teach import exercises as ex\n\n\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n"
             "    ### END SOLUTION\n\n\nex.check(\"99.f\", f);"),
        md("### Exercise 3 (implement)\nWrite `g`."),
        code("def g(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        code("ex.check('99.g', g)\n### BEGIN HIDDEN TESTS\nassert g(1) == 2\n### END HIDDEN TESTS"),
        md("### Exercise 4 (explore)\nTry it."),
        code("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION"),
    ]
    return nb


def test_metadata_is_derived_from_the_markers_on_a_small_notebook():
    nb = assignments.derive_metadata(synthetic(), points=3)
    cells = assignments.graded_cells(nb)
    assert sorted(cells) == ["ex1-answer", "ex2-check", "ex2-solution", "ex3-check", "ex3-solution", "ex4-solution"]
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    # the written answer is split out of the statement and graded by hand
    answer = by_id["ex1-answer"]
    assert answer.cell_type == "markdown" and answer.source.startswith("<!-- BEGIN SOLUTION -->")
    assert cells["ex1-answer"] == {**cells["ex1-answer"], "solution": True, "grade": True, "points": 3}
    assert "Exercise 1" in nb.cells[1].source and "Solution" not in nb.cells[1].source
    assert nb.cells[3].source.startswith("### Exercise 2")
    # solution and check in one cell: split at the call; the check gets a hidden test running the checker
    assert "ex.check" not in by_id["ex2-solution"].source and "return x" in by_id["ex2-solution"].source
    assert cells["ex2-solution"]["solution"] and not cells["ex2-solution"]["grade"]
    check = by_id["ex2-check"].source
    assert check.startswith('ex.check("99.f", f);')
    assert "### BEGIN HIDDEN TESTS" in check and "ex.run('99.f', f)" in check and "assert _verdict.passed" in check
    assert cells["ex2-check"] == {**cells["ex2-check"], "grade": True, "solution": False, "points": 3, "locked": True}
    # a check cell that has its own hidden tests keeps them, and gets no second block
    assert by_id["ex3-check"].source.count("### BEGIN HIDDEN TESTS") == 1 and "g(1) == 2" in by_id["ex3-check"].source
    # an explore solution is a solution cell without points
    assert not cells["ex4-solution"]["grade"] and cells["ex4-solution"]["solution"]
    # nothing is lost: every line of the original is still there, in order
    def lines(cells):
        return [line for c in cells for line in c.source.splitlines() if line.strip()]

    assert [x for x in lines(nb.cells) if "_verdict" not in x and "HIDDEN TESTS" not in x] == \
        [x for x in lines(synthetic().cells) if "HIDDEN TESTS" not in x]


def test_every_lesson_gets_graded_cells_for_each_exercise():
    for path in assignments.lessons():
        nb = nbformat.read(path, as_version=4)
        cells = assignments.graded_cells(assignments.derive_metadata(nb))
        checks = [k for k, m in cells.items() if m["grade"] and not m["solution"]]
        calls = [c for c in nb.cells if c.cell_type == "code" and "ex.check(" in c.source]
        assert len(checks) == len(calls) >= 1, path.name
        assert sum(1 for m in cells.values() if m["solution"]) == student.count_solutions(nb), path.name


# ---- with nbgrader -------------------------------------------------------------------------------

NBGRADER = assignments.find_nbgrader()
needs_nbgrader = pytest.mark.skipif(NBGRADER is None, reason="nbgrader not installed: `make autograde` installs it")


def exercise_text(nb) -> tuple[list[str], list[str]]:
    """Non-empty code and text lines of the Exercises section, whichever way the cells are cut."""
    start = student.exercise_start(nb)
    code = [x.rstrip() for c in nb.cells[start:] if c.cell_type == "code" for x in c.source.splitlines() if x.strip()]
    text = [x.rstrip() for c in nb.cells[start:] if c.cell_type == "markdown" for x in c.source.splitlines() if x.strip()]
    return code, text


@needs_nbgrader
def test_nbgrader_release_and_student_edition_agree(tmp_path):
    released = assignments.build(tmp_path / "course", exercises_only=True)
    assert len(released) == len(assignments.lessons())
    for path in released:
        release = nbformat.read(path, as_version=4)
        light = student.student_edition(nbformat.read(ROOT / "notebooks" / path.name, as_version=4))
        assert student.exercise_kinds(release) == student.exercise_kinds(light), path.name
        assert exercise_text(release) == exercise_text(light), f"{path.name}: release and student edition differ"
        assert "BEGIN SOLUTION" not in json.dumps([c.source for c in release.cells]), path.name
        assert "HIDDEN TESTS" not in json.dumps([c.source for c in release.cells]), path.name


def gradebook(course: Path, assignment: str) -> dict:
    script = (
        "import json, sys\nfrom nbgrader.api import Gradebook\n"
        "with Gradebook('sqlite:///gradebook.db') as gb:\n"
        "    out = {}\n"
        f"    for sub in gb.assignment_submissions({assignment!r}):\n"
        "        grades = {g.name: [g.score, g.max_score, g.needs_manual_grade] for nb in sub.notebooks for g in nb.grades}\n"
        "        out[sub.student_id] = grades\n"
        "print(json.dumps(out))\n")
    python = str(Path(NBGRADER).parent / "python")
    proc = subprocess.run([python, "-c", script], cwd=course, text=True, capture_output=True, check=True)
    return json.loads(proc.stdout)


@needs_nbgrader
def test_autograde_gives_full_marks_to_the_solutions_and_the_hint_to_a_wrong_answer(tmp_path):
    course = tmp_path / "course"
    name = LESSON.stem
    assignments.write_course(course, [LESSON], exercises_only=True)
    assignments.nbgrader(course, "generate_assignment", name, "--force", "--create")
    source = nbformat.read(course / "source" / name / LESSON.name, as_version=4)
    planted = nbformat.from_dict(json.loads(json.dumps(source)))
    for cell in planted.cells:
        cell.source = re.sub(r"(def my_rate\(alpha, beta, lam\):\n)    ### BEGIN SOLUTION.*?### END SOLUTION",
                             r"\1    return abs(1 - alpha * lam)   # planted: gradient descent's factor",
                             cell.source, flags=re.S)
    assert planted != source
    for student_id, nb in (("instructor", source), ("planted", planted)):
        target = course / "submitted" / student_id / name
        target.mkdir(parents=True)
        nbformat.write(nb, target / LESSON.name)
    assignments.nbgrader(course, "autograde", name, "--force", "--create")
    grades = gradebook(course, name)

    good, bad = grades["instructor"], grades["planted"]
    auto = {k: v for k, v in good.items() if not v[2]}
    assert auto and all(score == top > 0 for score, top, _ in auto.values()), good   # full marks on every test
    assert good["ex2-check"][0] == good["ex2-check"][1]
    assert bad["ex2-check"][0] == 0 < bad["ex2-check"][1], bad                          # the planted mistake loses them
    assert sum(v[0] or 0 for v in bad.values()) < sum(v[0] or 0 for v in good.values())
    assert all(v[2] for k, v in good.items() if k.endswith("-answer"))                  # written answers: a person grades

    assignments.nbgrader(course, "generate_feedback", name, "--force")
    feedback = (course / "feedback" / "planted" / name / f"{name}.html").read_text()
    assert "the momentum term is missing" in feedback                                  # the checker's hint
    ok = (course / "feedback" / "instructor" / name / f"{name}.html").read_text()
    assert "the momentum term is missing" not in ok and "matches rate()" in ok
