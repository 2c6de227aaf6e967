"""Bad input -> what the user gets: the table the README shows (``tests/test_solvers_properties.py`` checks
every row against the solvers and that the README mirrors it)."""

from __future__ import annotations

BAD_INPUT: list[tuple[str, str]] = [
    ("wrong shape, NaN/inf, negative or all-zero weights (any solver)",
     "`ValueError` naming the argument and the problem"),
    ("float16 / bfloat16 input (any solver)", "`ValueError`: float32 and float64 only"),
    ("collinear or coincident points (`kabsch`, `rigid_transform`); rank < 8 (`eight_point`)",
     "`ValueError` with how many problems of the batch and the first one's index"),
    ("repeated points or x2 a rotation of x1 (no translation, x2 = x1), one `five_point` problem",
     "`ValueError` saying why E is not determined"),
    ("the same, inside a `five_point` batch (e.g. RANSAC samples)",
     "that problem: no valid solution, zero E and gradient, `reason` code; the others solved"),
    ("`five_point` root that does not satisfy the essential constraints to `tol` (1e-3; 1e-9 with `refine=True`)",
     "`valid` False for that root"),
    ("float32 `five_point` input", "solved in float64, E returned in float32"),
    ("empty batch, or no problem with a real solution, under `backward=\"ift\"` / `\"ddn\"`",
     "zero gradient, `backward()` works"),
    ("singular or ill-conditioned Jacobian in the IFT / DDN backward",
     "that problem's gradient is zero, one `SingularJacobianWarning` and one flag per problem "
     "(`implicit.policy(on_singular=\"raise\")`: an error)"),
]


def markdown() -> str:
    """The table as Markdown, as pasted into the README."""
    rows = ["| bad input | what you get |", "|---|---|"] + [f"| {a} | {b} |" for a, b in BAD_INPUT]
    return "\n".join(rows)
