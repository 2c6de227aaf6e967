"""The five-point IFT backward on the essential manifold (mbp_teach.gradients.essential_tangent)."""

import functools
import warnings

import pytest
import torch

from mbp_teach.gradients import backward, implicit
from mbp_teach.gradients import essential_tangent as et
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import essential as es
from mbp_teach.solvers import five_point
from mbp_teach.solvers.epipolar import homogeneous

F64 = {"dtype": torch.float64}


def _roots(batch=16, seed=0, refine=True):
    x1, x2 = gp.inputs("five_point", batch, seed=seed)
    E, valid = es._five_point_forward(x1, x2, refine=refine)
    item = torch.nonzero(valid)[:, 0]
    return E[valid], x1[item], x2[item]


def test_frame_reproduces_E_with_orthogonal_U_V():
    E, _, _ = _roots()
    U, V = et.essential_frame(E)
    S = torch.diag(torch.tensor([1.0, 1.0, 0.0], **F64)) / 2**0.5
    eye = torch.eye(3, **F64)
    assert (U @ S @ V.mT - E).abs().max() < 1e-12
    assert (U.mT @ U - eye).abs().max() < 1e-12 and (V.mT @ V - eye).abs().max() < 1e-12


def test_closed_form_jacobian_and_gradient_equal_autograd_of_the_tangent_residual():
    E, x1, x2 = _roots()
    U, V = et.essential_frame(E)
    xi = torch.zeros(E.shape[0], 5, **F64)
    auto = torch.func.vmap(torch.func.jacrev(et.tangent_residual))(xi, x1, x2, U, V)
    closed = et.tangent_jacobian(homogeneous(x1) @ V, homogeneous(x2) @ U)
    assert (auto - closed).abs().max() < 1e-13
    assert et.tangent_residual(xi, x1, x2, U, V).abs().max() < 1e-12  # xi = 0 is E itself: a solution
    G = torch.randn(E.shape, generator=torch.Generator().manual_seed(1), **F64)
    S = torch.diag(torch.tensor([1.0, 1.0, 0.0], **F64)) / 2**0.5

    def along(z):  # <G, E(xi)> with E(xi) from the same parametrisation
        def rot(w):
            K = torch.zeros(3, 3, **F64).index_put((torch.tensor([2, 0, 1]), torch.tensor([1, 2, 0])), w)
            return torch.linalg.matrix_exp(K - K.T)
        a = torch.stack([z[0], z[1], 0.5 * z[4]])
        b = torch.stack([z[2], z[3], -0.5 * z[4]])
        return rot(a) @ S @ rot(b).T

    for r in range(3):
        def pairing(z, r=r):
            return (G[r] * (U[r] @ along(z) @ V[r].T)).sum()

        g = torch.func.jacrev(pairing)(torch.zeros(5, **F64))
        assert torch.allclose(g, et.tangent_gradient(G[r], U[r], V[r]), atol=1e-13)


def _grads(fn, x1, x2, seed=3):
    W = torch.randn(x1.shape[0], 10, 3, 3, generator=torch.Generator().manual_seed(seed), **F64)
    a, b = x1.clone().requires_grad_(), x2.clone().requires_grad_()
    E, valid = fn(a, b)
    (((E * W).sum((-1, -2)) ** 2) * valid).sum().backward()
    return torch.cat([a.grad.flatten(1), b.grad.flatten(1)], 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_tangent_backward_equals_the_9x9_reference_and_autograd(seed):
    x1, x2 = gp.inputs("five_point", 32, seed=seed)
    forward = functools.partial(es._five_point_forward, refine=True)
    new = _grads(lambda a, b: five_point(a, b, backward="ift", refine=True), x1, x2)
    # the shared loop on the 9 x 9 residual of the spec, bypassing its tangent-space override
    ref = _grads(lambda a, b: backward.attach(es.FIVE_POINT, "ift", forward, (a, b)), x1, x2)
    auto = _grads(lambda a, b: five_point(a, b, backward="autograd", refine=True), x1, x2)
    rel = lambda u, v: ((u - v).norm(dim=1) / v.norm(dim=1))  # noqa: E731
    assert new.abs().sum() > 0
    assert rel(new, ref).max() < 1e-10
    # autograd differentiates the eigendecomposition: it loses digits where a root is ill-conditioned, so it is
    # compared on the problems whose 5 x 5 Jacobians are all well conditioned (most of them)
    with implicit.policy() as log:
        _grads(lambda a, b: five_point(a, b, backward="ift", refine=True), x1, x2)
    _, valid = es._five_point_forward(x1, x2, refine=True)
    worst = torch.zeros(32, **F64).index_reduce_(0, torch.nonzero(valid)[:, 0], log.cond(), "amax")
    good = worst < 1e3
    assert int(good.sum()) >= 16
    assert rel(new, auto)[good].max() < 1e-10


def test_gradcheck_on_a_few_problems():
    x1, x2 = gp.inputs("five_point", 3, seed=4)
    each = gp.per_problem_loss("five_point")
    f = lambda a, b: each("ift", a, b)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x1.clone().requires_grad_(), x2.clone().requires_grad_()),
                                    eps=1e-6, atol=1e-5, rtol=1e-5)


def test_float32_callers_get_the_float64_gradient():
    x1, x2 = gp.inputs("five_point", 8, seed=5)
    g64 = _grads(lambda a, b: five_point(a, b, backward="ift"), x1, x2)
    g32 = _grads(lambda a, b: five_point(a, b, backward="ift"), x1.float(), x2.float())
    assert g32.dtype == torch.float32 and torch.isfinite(g32).all()
    assert float(((g32.double() - g64).norm(dim=1) / g64.norm(dim=1)).max()) < 1e-2


def test_ill_conditioned_jacobian_is_flagged_with_a_zero_gradient():
    x1, x2 = gp.inputs("five_point", 4, seed=6)
    with pytest.warns(implicit.SingularJacobianWarning) as record:
        with implicit.policy(cond_limit=1.5) as log:  # every 5x5 J has condition number > 1.5
            g = _grads(lambda a, b: five_point(a, b, backward="ift"), x1, x2)
    assert bool(log.flags().all()) and log.flags().numel() > 0
    assert torch.isinf(log.cond()).sum() == 0 and bool((log.cond() > 1.5).all())
    assert bool((g == 0).all()) and record[0].message.items == list(range(log.flags().numel()))
    with implicit.policy(on_singular="raise", cond_limit=1.5):
        E, valid = five_point(x1.clone().requires_grad_(), x2, backward="ift")
    with pytest.raises(implicit.SingularJacobianError):
        (E * valid[..., None, None]).pow(2).sum().backward()


def test_a_flagged_root_leaves_the_other_problems_gradients_alone():
    x1, x2 = gp.inputs("five_point", 6, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
        with implicit.policy() as log:
            g = _grads(lambda a, b: five_point(a, b, backward="ift"), x1, x2)
    conds = log.cond()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
        with implicit.policy(cond_limit=float(conds.max()) * 0.999) as log2:  # flags exactly the worst root
            g2 = _grads(lambda a, b: five_point(a, b, backward="ift"), x1, x2)
    assert int(log2.flags().sum()) == 1
    _, valid = es._five_point_forward(x1, x2)
    worst = int(torch.nonzero(valid)[int(log2.flags().nonzero()), 0])
    others = [b for b in range(6) if b != worst]
    assert torch.equal(g[others], g2[others]) and not torch.equal(g[worst], g2[worst])


def test_bench_five_point_rows_time_both_methods_on_the_same_problems():
    from mbp_teach.bench import gradients as bench

    (row,) = bench.five_point_rows([4], repeats=1, clock="cpu")
    for m in ("autograd", "ift"):
        assert row[f"{m} total"] >= row[f"{m} backward"] > 0 and row[f"{m} forward"] > 0
    assert row["backward autograd/ift"] == row["autograd backward"] / row["ift backward"]
