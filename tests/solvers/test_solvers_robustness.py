"""Issue 14: bad and degenerate input is flagged or refused, never a crash or a silent wrong answer."""

import math
import warnings

import pytest
import torch

from mbp_teach import data
from mbp_teach.gradients import implicit
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import companion_roots, eight_point, five_point, kabsch, ransac, rigid_transform
from mbp_teach.solvers import essential as es

MODES = ("autograd", "ift", "ddn")


def no_real_solution() -> tuple[torch.Tensor, torch.Tensor]:
    """Five random correspondences whose ten roots are all complex (searched with a fixed seed)."""
    g = torch.Generator().manual_seed(0)
    for _ in range(2000):
        x1, x2 = torch.rand(5, 2, generator=g, dtype=torch.float64), torch.rand(5, 2, generator=g, dtype=torch.float64)
        if not bool(five_point(x1, x2).valid.any()):
            return x1, x2
    raise AssertionError("no problem without a real solution found")


@pytest.mark.parametrize("mode", MODES)
def test_no_real_solution_gives_a_connected_zero_gradient(mode):
    x1, x2 = (x.unsqueeze(0).clone().requires_grad_() for x in no_real_solution())
    E, valid = five_point(x1, x2, backward=mode)
    assert not bool(valid.any())
    E.sum().backward()
    assert torch.equal(x1.grad, torch.zeros_like(x1)) and torch.equal(x2.grad, torch.zeros_like(x2))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", gp.SOLVERS)
def test_empty_batch_trains(name, mode):
    x = tuple(t[:0].clone().requires_grad_() for t in gp.inputs(name, 1, seed=1))
    gp.per_problem_loss(name)(mode, *x).sum().backward()
    assert all(t.grad is not None and t.grad.shape == t.shape for t in x[:2])


def test_ransac_survives_a_duplicated_correspondence():
    scene = data.two_view(30, noise=0.3, outlier_fraction=0.2, seed=3)
    x1, x2 = torch.cat([scene.x1, scene.x1[:1]]), torch.cat([scene.x2, scene.x2[:1]])
    for seed in range(1, 6):
        res = ransac.ransac_essential(x1, x2, iterations=200, threshold=1.5 / 500, seed=seed)
        assert int(res.count) >= 20


def test_degenerate_problem_in_a_batch_is_marked_with_its_reason():
    scene = data.two_view(5, 4, seed=5)
    x1, x2 = scene.x1.clone(), scene.x2.clone()
    x1[1, 1], x2[1, 1] = x1[1, 0], x2[1, 0]  # a repeated point
    x2[2] = x1[2]  # x2 = x1: no translation
    out = five_point(x1, x2)
    E, valid = out
    assert out.reason.tolist() == [es.OK, es.RANK, es.ROTATION, es.OK]
    assert not bool(valid[1:3].any()) and bool((E[1:3] == 0).all())
    assert torch.equal(out.E[[0, 3]], five_point(scene.x1[[0, 3]], scene.x2[[0, 3]]).E)
    assert "rank < 5" in out.why()[1] and "rotation" in out.why()[2]
    with pytest.raises(ValueError, match="rank < 5"):
        five_point(x1[1], x2[1])
    with pytest.raises(ValueError, match="rotation of x1"):
        five_point(x1[2], x2[2])


@pytest.mark.parametrize("mode", MODES)
def test_degenerate_problem_in_a_batch_gets_zero_gradient(mode):
    scene = data.two_view(5, 3, seed=6)
    x1, x2 = scene.x1.clone(), scene.x2.clone()
    x2[0] = x1[0]
    x1.requires_grad_(), x2.requires_grad_()
    E, valid = five_point(x1, x2, backward=mode)
    ((E * E * torch.arange(9.0, dtype=E.dtype).reshape(3, 3)).sum((-1, -2)) * valid).sum().backward()
    assert torch.equal(x1.grad[0], torch.zeros(5, 2, dtype=x1.dtype)) and x1.grad[1:].abs().sum() > 0


def test_pure_rotation_is_flagged():
    R = data.random_rotation(8, seed=4, max_angle=0.5)  # the points stay in front of both cameras
    X = torch.randn(8, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) + torch.tensor([0, 0, 6.0])
    Y = X @ R.transpose(-1, -2)
    x1, x2 = X[..., :2] / X[..., 2:], Y[..., :2] / Y[..., 2:]
    out = five_point(x1, x2)
    assert bool((out.reason == es.ROTATION).all()) and not bool(out.valid.any())


def essential_distance(E, valid, E_true):
    Et = (E_true / torch.linalg.matrix_norm(E_true)[..., None, None]).unsqueeze(-3)
    d = torch.minimum(torch.linalg.matrix_norm(E - Et.to(E)), torch.linalg.matrix_norm(E + Et.to(E)))
    return torch.where(valid, d, torch.full_like(d, math.inf)).min(-1).values


def test_float32_is_solved_in_float64():
    scene = data.two_view(5, 2000, seed=9, dtype=torch.float32)
    E, valid = five_point(scene.x1, scene.x2)
    assert E.dtype == torch.float32
    assert (essential_distance(E, valid, scene.E) < 1e-3).float().mean() >= 0.999
    s = torch.linalg.svdvals(E[valid].double())
    assert float(((s[:, 0] - s[:, 1]).abs() + s[:, 2]).max()) < 1e-2
    assert bool(valid.sum(-1).remainder(2).eq(0).float().mean() >= 0.999)
    x1 = scene.x1[:4].clone().requires_grad_()
    E, valid = five_point(x1, scene.x2[:4])
    (E * E * torch.arange(9.0).reshape(3, 3) * valid[..., None, None]).sum().backward()
    assert x1.grad.dtype == torch.float32 and torch.isfinite(x1.grad).all() and x1.grad.abs().sum() > 0


def test_valid_means_the_constraints_hold_to_the_tolerance():
    scene = data.two_view(5, 500, seed=10, baseline=1e-2)
    for refine, tol in ((False, es.VALID_TOL), (True, es.REFINED_TOL)):
        E, valid = five_point(scene.x1, scene.x2, refine=refine)
        assert float(es.essential_constraints(E[valid].double()).abs().max()) <= tol
    E, valid = five_point(scene.x1, scene.x2, tol=1e-12)
    assert float(es.essential_constraints(E[valid]).abs().max()) <= 1e-12


def test_refine_recovers_small_baselines_and_keeps_generic_answers():
    scene = data.two_view(5, 1000, seed=11, baseline=1e-2)
    plain = essential_distance(*five_point(scene.x1, scene.x2), scene.E)
    polished = essential_distance(*five_point(scene.x1, scene.x2, refine=True), scene.E)
    assert (plain < 1e-6).float().mean() < 0.6 and (polished < 1e-6).float().mean() > 0.9
    generic = data.two_view(5, 500, seed=12)
    d = essential_distance(*five_point(generic.x1, generic.x2, refine=True), generic.E)
    assert float(d.max()) < 1e-10


def test_generic_float64_default_is_unchanged_by_the_checks():
    """The validity tolerance and degeneracy checks do not touch generic problems (bit-identical forward)."""
    scene = data.two_view(5, 300, seed=13)
    E, valid = five_point(scene.x1, scene.x2)
    basis = es.null_space_basis(scene.x1, scene.x2)
    G, ok = es.eliminate(es.constraint_matrix(basis))
    xyz, v0 = es.roots_by_back_substitution(es.action_matrix(G), G, ok)  # five_point's stage 5 (issue 18)
    assert torch.equal(valid, v0) and torch.equal(E, es.compose_essential(basis, xyz, v0))


def test_ddn_float32_five_point_is_usable():
    x1, x2 = gp.inputs("five_point", 100, seed=3, dtype=torch.float32)
    x1.requires_grad_()
    with implicit.policy() as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        E, valid = five_point(x1, x2, backward="ddn")
        (E * E * torch.arange(9.0).reshape(3, 3) * valid[..., None, None]).sum().backward()
    assert int(log.flags().sum()) <= 2 and torch.isfinite(x1.grad).all()
    ref = x1.detach().double().requires_grad_()
    E, valid = five_point(ref, x2.double(), backward="ift")
    (E * E * torch.arange(9.0, dtype=E.dtype).reshape(3, 3) * valid[..., None, None]).sum().backward()
    assert float((x1.grad.double() - ref.grad).norm() / ref.grad.norm()) < 1e-2


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_ddn_logs_one_flag_per_problem_and_backward(name):
    x = tuple(t.clone().requires_grad_() for t in gp.inputs(name, 6, seed=2))
    with implicit.policy(cond_limit=1.5) as log, warnings.catch_warnings():  # every problem flagged
        warnings.simplefilter("ignore")
        gp.per_problem_loss(name)("ddn", *x).sum().backward()
    n = 6 if name != "five_point" else int(five_point(*x).valid.sum())
    assert log.flags().shape == (n,) and bool(log.flags().all()) and log.cond().shape == (n,)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused_clearly(dtype):
    P = torch.randn(6, 3).to(dtype)
    x = torch.rand(8, 2).to(dtype)
    for call in (lambda: kabsch(P, P), lambda: rigid_transform(P, P), lambda: eight_point(x, x),
                 lambda: five_point(x[:5], x[:5]), lambda: companion_roots(torch.tensor([1.0, 2.0]).to(dtype)),
                 lambda: ransac.ransac_essential(x, x)):
        with pytest.raises(ValueError, match="float32 and float64 only"):
            call()
