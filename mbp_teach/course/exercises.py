"""Checkers for the implement-exercises at the end of each lesson.

A learner writes a function in the notebook and calls ``check("04.rate", my_rate)``. The checker
runs it on cases the notebook does not show and answers with a *specific* hint when it fails
("for complex roots the rate is sqrt(beta): did you take abs() of a complex number?") rather
than pass/fail. ``check`` never raises for a wrong or unfinished answer, so a student edition
runs top to bottom; ``run`` returns the ``Result`` for tests to inspect.

Checkers live in each part's ``exercises`` module (``mbp_teach/momentum/exercises.py``, ...), registered with
``@exercise("NN.name")``; each also lists ``wrong`` answers (plausible mistakes) that the test
suite feeds it to prove it rejects them with the right hint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Hint(AssertionError):
    """Raised by a checker: the message is what the learner reads."""


@dataclass
class Exercise:
    key: str
    checker: Callable[[Callable], str]
    wrong: list[tuple[Callable, str]] = field(default_factory=list)


@dataclass
class Result:
    key: str
    passed: bool
    message: str

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} exercise {self.key}: {self.message}"


REGISTRY: dict[str, Exercise] = {}


def exercise(key: str, wrong: list[tuple[Callable, str]] | None = None):
    """Register ``checker(fn) -> success message``; ``wrong``: (mistaken answer, hint fragment)."""

    def register(checker: Callable[[Callable], str]) -> Callable[[Callable], str]:
        REGISTRY[key] = Exercise(key, checker, list(wrong or []))
        return checker

    return register


def load_all() -> None:
    """Import every part's ``exercises`` module, which registers its checkers."""
    from mbp_teach import PARTS

    for part in PARTS:
        importlib.import_module(f"mbp_teach.{part}.exercises")


def get(key: str) -> Exercise:
    load_all()
    if key not in REGISTRY:
        raise ValueError(f"unknown exercise {key!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[key]


def run(key: str, fn: Any) -> Result:
    """Check ``fn`` without printing; never raises for a wrong answer."""
    ex = get(key)
    if not callable(fn):
        return Result(key, False, f"expected a function, got {type(fn).__name__}")
    try:
        return Result(key, True, ex.checker(fn))
    except NotImplementedError:
        return Result(key, False, "not attempted yet: replace the `raise NotImplementedError` with your code")
    except Hint as hint:
        return Result(key, False, str(hint))
    except Exception as exc:  # the learner's code crashed: say where, not a stack trace
        return Result(key, False, f"your function raised {type(exc).__name__}: {exc}")


def check(key: str, fn: Any) -> None:
    """Check ``fn`` and print the verdict (the notebook's call; ``run`` returns it instead)."""
    print(run(key, fn))

