"""five_point(null_space=...): the paper-style SVD null spaces give the same E, and what autograd does with them.

Measured with torch 2.13 (float64, 1 thread), and asserted here as it is:
- "svd" (last 4 right singular vectors of the 5x9 matrix, full_matrices=True): autograd's gradient is
  exactly zero for every problem, because torch's SVD backward ignores the gradient reaching the
  rows of Vh beyond the 5th when full_matrices=True, and those rows are the null space;
- "gram_svd" (SVD of the 9x9 Gram matrix A^T A, the nabla-RANSAC / kornia form): no NaN on random
  problems; the gradient agrees with the IFT's for nearly all of them;
- the IFT (and DDN) gradient does not depend on the basis: it uses only the forward's values.
"""

import warnings

import pytest
import torch
from hf_threads import one_thread  # noqa: F401  (autouse fixture: one torch thread)

from mbp_teach import data
from mbp_teach.gradients import compare as gc
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import epipolar_residuals, five_point
from mbp_teach.solvers import essential as es

BASES = ("svd", "gram_svd")


def gradients(x, backward, null_space):
    """Per-problem gradient (B, 20) of the bench's sign- and order-invariant five-point loss."""
    x1, x2 = (t.clone().requires_grad_() for t in x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp.per_problem_loss("five_point", null_space=null_space)(backward, x1, x2).sum().backward()
    return torch.cat([x1.grad.flatten(1), x2.grad.flatten(1)], 1)


def relative(g, ref):
    return (g - ref).norm(dim=1) / ref.norm(dim=1)


def assert_agree(g, ref):
    """Finite, and equal to ``ref`` up to the forward's round-off: within 1e-6 relative for >= 98 % of
    the problems and never far off (a few ill-conditioned roots lose more digits in one basis than in
    the other; the Gram matrix squares the condition number)."""
    assert bool(torch.isfinite(g).all())
    rel = relative(g, ref)
    assert (rel <= 1e-6).double().mean() >= 0.98 and rel.max() < 0.05


@pytest.mark.parametrize("null_space", BASES)
def test_same_solutions_as_qr_up_to_sign_and_order(null_space):
    scene = data.two_view(5, 300, seed=11)
    Eq, vq = five_point(scene.x1, scene.x2)
    Es, vs = five_point(scene.x1, scene.x2, null_space=null_space)
    assert torch.equal(vq.sum(-1), vs.sum(-1))  # as many real solutions
    # every valid qr solution has a valid solution of the other basis nearby, up to sign (the
    # solver's own round-off: ill-conditioned roots lose digits whichever basis is used)
    d = torch.minimum(torch.linalg.matrix_norm(Eq[:, :, None] - Es[:, None]),
                      torch.linalg.matrix_norm(Eq[:, :, None] + Es[:, None]))  # (B, 10, 10)
    d = torch.where(vs[:, None, :], d, torch.full_like(d, float("inf"))).min(-1).values
    assert d[vq].max() < 1e-6 and d[vq].median() < 1e-10
    # and the basis spans the null space of the epipolar equations
    basis = es.null_space_basis(scene.x1, scene.x2, null_space)
    assert epipolar_residuals(basis, scene.x1.unsqueeze(1), scene.x2.unsqueeze(1)).abs().max() < 1e-12


@pytest.mark.parametrize("call", [
    lambda x1, x2: five_point(x1, x2, null_space="lu"),
    lambda x1, x2: five_point(x1, x2, backward="ift", null_space="SVD"),
    lambda x1, x2: es.null_space_basis(x1, x2, "eig"),
])
def test_unknown_null_space_is_refused(call):
    scene = data.two_view(5, 2, seed=1)
    with pytest.raises(ValueError, match="null_space: must be one of 'qr', 'svd', 'gram_svd'"):
        call(scene.x1, scene.x2)


def test_autograd_through_full_svd_gives_an_exactly_zero_gradient():
    x = gp.inputs("five_point", 200, seed=3)
    g = gradients(x, "autograd", "svd")
    ift = gradients(x, "ift", "qr")
    # every problem: silently zero, no error, no NaN (a property of the torch release: keyed to it)
    gc.expect_svd_backward_failure(bool((g == 0).all()), "autograd through a full_matrices=True SVD's null space "
                                   "gives an exactly zero gradient")
    assert bool((ift.norm(dim=1) > 1e-3).all())  # while the true gradient is not
    # the IFT with the same forward is unaffected: finite and equal to the qr IFT gradient
    assert_agree(gradients(x, "ift", "svd"), ift)


def test_autograd_through_gram_svd_is_finite_on_random_problems():
    x = gp.inputs("five_point", 200, seed=3)
    g = gradients(x, "autograd", "gram_svd")
    ift = gradients(x, "ift", "qr")
    assert_agree(g, ift)  # torch 2.13, float64: the paper's NaNs do not appear here
    assert_agree(gradients(x, "ift", "gram_svd"), ift)


@pytest.mark.parametrize("null_space", BASES)
def test_ddn_does_not_depend_on_the_basis(null_space):
    x = gp.inputs("five_point", 4, seed=5)
    assert relative(gradients(x, "ddn", null_space), gradients(x, "ddn", "qr")).max() < 1e-7


def test_bench_has_the_paper_style_rows(capsys):
    import argparse
    import json

    from mbp_teach.bench import gradients as bench

    shares = bench.shares_on("five_point", gp.inputs("five_point", 20, seed=2))
    assert shares["autograd (svd null space)"]["zero"] == 1.0
    assert shares["autograd (svd null space)"]["differs_from_ift"] == 1.0
    assert shares["ift"]["nonfinite"] == 0.0 and shares["ift"]["zero"] == 0.0
    assert bench.methods("kabsch") == bench.METHODS
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    old = torch.get_default_dtype()
    try:
        bench.run(parser.parse_args(["--json", "--batches", "1,4", "--problems", "10", "--repeats", "1",
                                     "--solvers", "five_point", "--no-plot", "--clock", "cpu"]))
    finally:
        torch.set_default_dtype(old)
    result = json.loads(capsys.readouterr().out)
    assert result["clock"] == "cpu"
    assert set(result["backward_seconds"]["five_point"]) == set(bench.methods("five_point"))
    assert set(result["five_point_speedup"]["4"]) == {f"{m}/ift" for m in bench.methods("five_point") if m != "ift"}
    assert set(result["failures"]["five_point"]["near-degenerate"]) == set(bench.methods("five_point"))
