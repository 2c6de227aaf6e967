"""Exercises: checkers accept the instructor's solutions, reject plausible mistakes with a hint,
and the student edition (solutions stubbed out) runs up to the exercises."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mbp_teach.course import exercises, student

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
LESSONS = [p for p in NOTEBOOKS if re.match(r"0[1-9]_", p.name)]
CHECK_CALL = re.compile(r"""ex\.check\(\s*["']([\w.]+)["']""")


def _read(path):
    return nbformat.read(path, as_version=4)


def _run(nb, path, allow_errors):
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def _text(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


exercises.load_all()


@pytest.mark.parametrize("key", sorted(exercises.REGISTRY))
def test_checker_rejects_each_wrong_answer_with_its_hint(key):
    ex = exercises.get(key)
    assert ex.wrong, f"{key}: register at least one plausible wrong answer"
    for fn, fragment in ex.wrong:
        result = exercises.run(key, fn)
        assert not result.passed and fragment in result.message, (key, result.message)


def test_unattempted_and_crashing_answers_get_messages_not_exceptions():
    def stub(*_):
        raise NotImplementedError

    assert "not attempted" in exercises.run("04.rate", stub).message
    assert "ZeroDivisionError" in exercises.run("04.rate", lambda *a: 1 / 0).message
    with pytest.raises(ValueError, match="unknown exercise"):
        exercises.run("99.nothing", stub)


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_ends_with_three_kinds_of_exercise(path):
    nb = _read(path)
    kinds = student.exercise_kinds(nb)
    assert len(kinds) >= 3 and {"derive", "implement"} <= set(kinds), f"{path.name}: exercises {kinds}"
    assert student.count_solutions(nb) >= len(kinds), "every exercise needs an instructor solution"


def test_every_checker_is_used_by_a_notebook():
    used = {k for p in NOTEBOOKS for c in _read(p).cells if c.cell_type == "code" for k in CHECK_CALL.findall(c.source)}
    assert set(exercises.REGISTRY) <= used, f"checkers no notebook calls: {set(exercises.REGISTRY) - used}"


WITH_EXERCISES = [p for p in NOTEBOOKS if student.exercise_start(_read(p)) is not None]


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.name for p in WITH_EXERCISES])
def test_instructor_solutions_pass_and_student_edition_runs_up_to_the_exercises(path):
    nb = _read(path)
    stu = student.student_edition(nb)
    start = student.exercise_start(nb)
    assert [c.source for c in stu.cells[:start]] == [c.source for c in nb.cells[:start]]
    assert student.count_solutions(stu) == 0 and "BEGIN SOLUTION" not in str(stu.cells)

    done = _run(student.exercise_section(nb), path, allow_errors=False)
    verdicts = [line for c in done.cells for line in _text(c).splitlines() if "exercise " in line]
    assert verdicts and all(v.startswith("✓") for v in verdicts), verdicts

    done = _run(student.exercise_section(stu), path, allow_errors=True)
    for cell in done.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            assert student.STUB.strip() in cell.source and errors[0]["ename"] == "NotImplementedError"
    stub_verdicts = [line for c in done.cells for line in _text(c).splitlines() if "exercise " in line]
    assert stub_verdicts and all(v.startswith("✗") and "not attempted" in v for v in stub_verdicts)
