"""five_point and its stages: the true E among the valid solutions, constraints, batches, gradients."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach import data
from mbp_teach.solvers import epipolar_residuals, five_point
from mbp_teach.solvers import essential as es

SETTINGS = settings(deadline=None, derandomize=True, max_examples=6)
seeds = st.integers(0, 2**31 - 1)


def distance_to_truth(E, valid, E_true):
    """Per problem: min over valid solutions of ||E - E*||, ||E + E*|| (E* scaled to unit norm); inf if none."""
    Et = (E_true / torch.linalg.matrix_norm(E_true)[..., None, None]).unsqueeze(-3)
    d = torch.minimum(torch.linalg.matrix_norm(E - Et), torch.linalg.matrix_norm(E + Et))
    return torch.where(valid, d, torch.full_like(d, float("inf"))).min(-1).values


@SETTINGS
@given(seeds)
def test_true_E_among_valid_solutions_for_99_percent(seed):
    scene = data.two_view(5, 400, seed=seed)
    E, valid = five_point(scene.x1, scene.x2)
    assert E.shape == (400, 10, 3, 3) and valid.shape == (400, 10) and valid.dtype == torch.bool
    found = distance_to_truth(E, valid, scene.E) < 1e-6
    assert found.float().mean() >= 0.99
    # every valid solution is an essential matrix through the five points; invalid ones are zero
    Ev = E[valid]
    assert es.essential_constraints(Ev).abs().max() < 1e-6
    x1, x2 = (x.unsqueeze(1).expand(-1, 10, -1, -1)[valid] for x in (scene.x1, scene.x2))
    assert epipolar_residuals(Ev, x1, x2).abs().max() < 1e-9
    assert (torch.linalg.matrix_norm(Ev) - 1).abs().max() < 1e-12
    assert bool((E[~valid] == 0).all()) and torch.isfinite(E).all()
    assert valid.sum(-1).remainder(2).eq(0).all()  # complex roots come in pairs: an even count of real ones


def test_constraint_matrix_evaluates_the_constraints():
    scene = data.two_view(5, 6, seed=1)
    basis = es.null_space_basis(scene.x1, scene.x2)
    C = es.constraint_matrix(basis)
    xyz = torch.randn(6, 3, dtype=torch.float64)
    x, y, z = xyz.unbind(-1)
    monomials = torch.stack([x**a * y**b * z**c for a, b, c in es.CUBIC], -1)  # (6, 20)
    E = torch.einsum("bk,bkij->bij", torch.cat([xyz, torch.ones(6, 1, dtype=torch.float64)], -1), basis)
    assert torch.allclose((C @ monomials.unsqueeze(-1)).squeeze(-1), es.essential_constraints(E), atol=1e-12)
    # the basis spans the null space of the epipolar equations
    res = epipolar_residuals(basis, scene.x1.unsqueeze(1), scene.x2.unsqueeze(1))
    assert res.abs().max() < 1e-14


def test_action_matrix_eigenvectors_are_monomial_vectors():
    scene = data.two_view(5, 6, seed=2)
    basis = es.null_space_basis(scene.x1, scene.x2)
    G, ok = es.eliminate(es.constraint_matrix(basis))
    A = es.action_matrix(G)
    xyz, valid = es.roots_from_action(A, ok)
    assert bool(ok.all())
    x, y, z = xyz.real[valid].unbind(-1)
    b = torch.stack([x**a * y**bb * z**c for a, bb, c in es.QUADRATIC], -1)  # (k, 10), BASIS order
    Ak = A.unsqueeze(1).expand(-1, 10, -1, -1)[valid]
    assert torch.allclose((Ak @ b.unsqueeze(-1)).squeeze(-1), x.unsqueeze(-1) * b, atol=1e-8, rtol=1e-8)
    assert es.MONOMIALS[:3] == ["x^3", "x^2y", "x^2z"] and es.BASIS[-4:] == ["x", "y", "z", "1"]


def test_float32_and_batch_dims():
    scene = data.two_view(5, (4, 50), seed=3, dtype=torch.float32)
    E, valid = five_point(scene.x1, scene.x2)
    assert E.shape == (4, 50, 10, 3, 3) and E.dtype == torch.float32 and valid.shape == (4, 50, 10)
    assert (distance_to_truth(E, valid, scene.E) < 1e-2).float().mean() >= 0.95


def test_autograd_gradient_matches_finite_differences():
    scene = data.two_view(5, 1, seed=4)

    def loss(x1, x2):  # invariant to the order and sign of the solutions
        E, valid = five_point(x1, x2)
        W = torch.arange(9, dtype=x1.dtype).reshape(3, 3)
        return ((E * E * W) * valid[..., None, None]).sum(dim=(-3, -2, -1))

    x1, x2 = scene.x1.clone().requires_grad_(), scene.x2.clone().requires_grad_()
    assert torch.autograd.gradcheck(loss, (x1, x2), eps=1e-7, atol=1e-5, rtol=1e-4)
    loss(x1, x2).sum().backward()
    assert torch.isfinite(x1.grad).all() and torch.isfinite(x2.grad).all() and x1.grad.abs().sum() > 0


X5 = torch.rand(5, 2, dtype=torch.float64)


@pytest.mark.parametrize("args, match", [
    ((torch.rand(6, 2), torch.rand(6, 2)), "exactly 5"),
    ((torch.rand(5, 3), torch.rand(5, 3)), "expected shape"),
    ((X5, X5[:, :1]), "expected shape"),
    ((X5, X5.clone().fill_(float("nan"))), "NaN"),
    ((X5[[0, 0, 1, 2, 3]], X5[[0, 0, 1, 2, 3]]), "rank < 5"),
])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        five_point(*args)


def test_bad_problem_in_a_batch_is_flagged_not_raised():
    scene = data.two_view(5, 8, seed=5)
    x1, x2 = scene.x1.clone(), scene.x2.clone()
    x1[6, 1], x2[6, 1] = x1[6, 0], x2[6, 0]
    out = five_point(x1, x2)
    assert out.reason[6] == es.RANK and not bool(out.valid[6].any()) and bool(out.valid[:6].any(-1).all())
    with pytest.raises(ValueError, match="rank < 5"):
        five_point(x1[6], x2[6])
