"""Bad input -> what the user gets: the table the README shows (``tests/solvers/test_solvers_properties.py`` checks
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


def _outcome(run) -> str:
    """What a call gives a user: the error's type and message, or the description ``run`` returns."""
    try:
        return run()
    except ValueError as err:  # the package's refusals; any other exception is a defect and propagates
        return f"ValueError: {err}"


def tour(seed: int = 0) -> list[tuple[str, str]]:
    """Run one live example of the bad inputs above and return (what was passed, what came back).

    Notebook 02 prints this table, so a learner sees each refusal or flag happen rather than read
    about it. Every example is exactly degenerate (or of the wrong type), so the outcome is the
    same on every CPU.
    """
    import torch

    from mbp_teach.solvers import essential as es
    from mbp_teach.solvers.rotation import KABSCH, kabsch

    P, Q, _ = KABSCH.inputs(1, seed, None, torch.float64)
    line = torch.linspace(-1.0, 1.0, 6, dtype=torch.float64)[None, :, None] * torch.ones(3, dtype=torch.float64)
    x1, x2 = es.FIVE_POINT.inputs(3, seed, None, torch.float64)

    def batch() -> str:
        a, b = x1.clone(), x2.clone()
        b[1] = a[1]                                  # problem 1: x2 = x1
        a[2, 1], b[2, 1] = a[2, 0], b[2, 0]          # problem 2: a repeated correspondence
        out = es.five_point(a, b)
        return "; ".join(f"problem {i}: {n} valid, {why}" for i, (n, why)
                         in enumerate(zip(out.valid.sum(-1).tolist(), out.why(), strict=True)))

    def empty() -> str:
        a, b = (t[:0].clone().requires_grad_() for t in (x1, x2))
        es.five_point(a, b, backward="ift").E.sum().backward()
        if a.grad is None:
            return "backward() works, but x1 received no gradient"
        return f"backward() works; gradient of shape {tuple(a.grad.shape)}"

    return [
        ("kabsch with 2-D points", _outcome(lambda: kabsch(P[..., :2], Q))),
        ("kabsch in float16", _outcome(lambda: kabsch(P.half(), Q.half()))),
        ("kabsch with six points on one line", _outcome(lambda: kabsch(line, line.flip(-2)))),
        ("five_point, one problem with x2 = x1", _outcome(lambda: es.five_point(x1[0], x1[0]))),
        ("five_point, a batch of 3: generic, x2 = x1, a repeated point", _outcome(batch)),
        ("five_point in float32", _outcome(lambda: f"E comes back in {es.five_point(x1.float(), x2.float()).E.dtype}")),
        ("five_point, empty batch, backward='ift'", _outcome(empty)),
    ]
