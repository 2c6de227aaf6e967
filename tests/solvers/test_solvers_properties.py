"""Property tests (issue 14): over generic, near-degenerate and exactly degenerate inputs, every solver and
every backward either answers correctly to a stated tolerance or flags the problem (invalid flag, warning,
or ValueError naming it). Never a crash, never a silent wrong answer. Also: the README mirrors BAD_INPUT."""

import pathlib
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach.gradients import implicit
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import bad_input, eight_point, five_point, kabsch, rigid_transform
from mbp_teach.solvers import essential as es

SETTINGS = settings(deadline=None, derandomize=True, max_examples=6)
MODES = ("autograd", "ift", "ddn")
KINDS = ("generic", "near", "exact")
RESIDUAL_TOL = 1e-8  # |F(x, y)| of the solver's own residual at its answer, float64


def gradient_ok(name, mode, x) -> None:
    """The backward runs; every gradient entry is finite (flagged problems get zeros, never NaN)."""
    x = tuple(t.clone().requires_grad_() for t in x)
    with implicit.policy() as log, warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        gp.per_problem_loss(name)(mode, *x).sum().backward()
    if mode != "autograd":
        assert all(torch.isfinite(t.grad).all() for t in x[:2])
        assert log.flags().dtype == torch.bool


@SETTINGS
@given(seed=st.integers(0, 2**20), kind=st.sampled_from(KINDS), mode=st.sampled_from(MODES))
def test_rotation_solvers(seed, kind, mode):
    for name, solver in (("kabsch", kabsch), ("rigid_transform", rigid_transform)):
        if kind == "exact":  # all points on one line through the origin: R not determined
            P = torch.randn(3, 6, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * torch.ones(3)
            with pytest.raises(ValueError, match="collinear or coincident"):
                solver(P, P.flip(-2), backward=mode)
            continue
        x = gp.inputs(name, 3, seed=seed, gap=1e-12 if kind == "near" else None)
        out = solver(*x, backward=mode)
        u = gp.spec(name).unknowns_of(out, *x)  # the solver's own residual at its answer
        F = gp.spec(name).residual(u.y0, *u.xs, *u.aux)
        assert float(F.abs().max()) < RESIDUAL_TOL
        if mode != "autograd" or kind == "generic":  # autograd at repeated singular values: see test_implicit_degenerate
            gradient_ok(name, mode, x)


@SETTINGS
@given(seed=st.integers(0, 2**20), kind=st.sampled_from(KINDS), mode=st.sampled_from(MODES))
def test_eight_point(seed, kind, mode):
    if kind == "exact":  # every point on one line in both images: rank < 8
        t = torch.rand(2, 12, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        x = torch.cat([t, 2 * t + 1], -1)
        with pytest.raises(ValueError, match="rank < 8|coincide"):
            eight_point(x, x.flip(-2), backward=mode)
        return
    x = gp.inputs("eight_point", 3, seed=seed, gap=1e-6 if kind == "near" else None)
    F = eight_point(*x, backward=mode)
    assert torch.isfinite(F).all() and float((torch.linalg.matrix_norm(F) - 1).abs().max()) < 1e-12
    assert float(torch.linalg.svdvals(F)[..., 2].max()) < 1e-12  # rank 2
    gradient_ok("eight_point", mode, x)


@SETTINGS
@given(seed=st.integers(0, 2**20), kind=st.sampled_from(KINDS), mode=st.sampled_from(MODES),
       refine=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_five_point(seed, kind, mode, refine, dtype):
    x1, x2 = gp.inputs("five_point", 6, seed=seed, gap=1e-4 if kind == "near" else None, dtype=dtype)
    if kind == "exact":  # half the batch degenerate: a repeated point, or x2 = x1
        x1, x2 = x1.clone(), x2.clone()
        x1[0, 1], x2[0, 1] = x1[0, 0], x2[0, 0]
        x2[1] = x1[1]
        with pytest.raises(ValueError, match="x1, x2:"):
            five_point(x1[1], x2[1])
    out = five_point(x1, x2, backward=mode, refine=refine)
    E, valid = out
    assert E.dtype == dtype and torch.isfinite(E).all() and bool((E[~valid] == 0).all())
    tol = es.REFINED_TOL if refine else es.VALID_TOL
    c = es.essential_constraints(E[valid].double()).abs()
    assert c.numel() == 0 or float(c.max()) <= tol + 10 * torch.finfo(dtype).eps
    assert torch.equal(valid.any(-1), out.reason == es.OK)  # no valid solution <-> a reason
    if kind == "exact":
        assert out.reason[:2].tolist() == [es.RANK, es.ROTATION]
    if dtype == torch.float64:
        gradient_ok("five_point", mode, (x1, x2))


def test_readme_mirrors_the_bad_input_table():
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    assert bad_input.markdown() in readme
    assert len(bad_input.BAD_INPUT) >= 8


def test_the_live_tour_shows_each_refusal_and_flag():
    rows = dict(bad_input.tour())
    assert len(rows) == 7
    for what in ("kabsch with 2-D points", "kabsch in float16", "kabsch with six points on one line",
                 "five_point, one problem with x2 = x1"):
        assert rows[what].startswith("ValueError: ")
    assert "float32 and float64 only" in rows["kabsch in float16"]
    batch = rows["five_point, a batch of 3: generic, x2 = x1, a repeated point"].split("; ")
    assert batch[0].endswith("solved") and "problem 0: 0 valid" not in batch[0]
    assert batch[1].startswith("problem 1: 0 valid") and "rotation of x1" in batch[1]
    assert batch[2].startswith("problem 2: 0 valid") and "rank < 5" in batch[2]
    assert rows["five_point in float32"].endswith("torch.float32")
    assert rows["five_point, empty batch, backward='ift'"].startswith("backward() works")
