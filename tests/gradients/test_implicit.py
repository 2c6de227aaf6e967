"""The IFT layer: exact gradients (gradcheck, float64) for every solver, and honest failure modes."""

import warnings

import pytest
import torch

from mbp_teach import solvers as sv
from mbp_teach.gradients import implicit
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import essential as es
from mbp_teach.solvers import fundamental
from mbp_teach.solvers.polynomial import polynomial_residual


def _gradcheck(name, backward, batch=2, seed=1):
    x = tuple(t.detach().requires_grad_(True) for t in gp.inputs(name, batch, seed=seed))
    f = gp.loss(name)
    return torch.autograd.gradcheck(lambda *z: f(backward, *z), x, eps=1e-6, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_gradcheck_ift(name):
    assert _gradcheck(name, "ift")


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_forward_is_identical_and_gradient_matches_reference(name):
    x = gp.inputs(name, 2, seed=4)
    f = gp.loss(name)
    assert torch.equal(torch.as_tensor(f("autograd", *x)), torch.as_tensor(f("ift", *x)))
    xs = tuple(t.clone().requires_grad_(True) for t in x)
    g = torch.autograd.grad(f("ift", *xs), xs)
    ref = gp.reference(name, x)
    diff = torch.cat([(a - b).flatten() for a, b in zip(g, ref, strict=True)])
    err = diff.norm() / torch.cat([b.flatten() for b in ref]).norm()
    assert err < 1e-6


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_residual_vanishes_at_the_solution_and_the_unknowns_give_the_output_back(name):
    spec = gp.spec(name)
    x = gp.inputs(name, 3, seed=5)
    out = spec.solver(*x)
    u = spec.unknowns_of(out, *x)
    r = spec.residual(u.y0, *u.xs, *u.aux)
    assert r.shape == u.y0.shape and r.shape[-1] in (9, 12, 14) and r.abs().max() < 1e-10
    back = spec.output_of(u.y0, out, u)  # y0 carries no gradient: back is out, value for value
    for a, b in zip(back if isinstance(back, tuple) else (back,), out if isinstance(out, tuple) else (out,),
                    strict=True):
        assert torch.equal(a, b)


def test_eight_point_unknowns_reproduce_F():
    x = gp.inputs("eight_point", 3, seed=5)
    F = sv.eight_point(*x)
    z = fundamental.eight_point_unknowns(*x, F=F)
    assert torch.allclose(fundamental.eight_point_output(z, *x), F, atol=1e-12)


def test_closed_form_essential_jacobian_equals_torch_func():
    g = torch.Generator().manual_seed(0)
    E = torch.randn(4, 3, 3, generator=g, dtype=torch.float64)
    x1, x2 = torch.randn(2, 4, 5, 2, generator=g, dtype=torch.float64)
    frame = es.essential_frame(E)
    closed = es.essential_jacobian(E.flatten(-2), x1, x2, frame)
    generic = implicit.residual_jacobian(es.essential_residual, E.flatten(-2), (x1, x2), (frame,))
    assert isinstance(es.FIVE_POINT.residual, implicit.ClosedForm)  # the spec's IFT uses the closed forms
    assert torch.allclose(closed, generic, atol=1e-12)


def test_one_variable_root():
    """x(c) a root of c0 x^2 + c1 x + c2: dx/dc = -x^(2-k) / p'(x), the IFT in one line."""
    c = torch.tensor([[1.0, -3.0, 2.0]], dtype=torch.float64, requires_grad=True)  # roots 1 and 2
    x = implicit.implicit(polynomial_residual, torch.tensor([[2.0]], dtype=torch.float64), (c,))
    (g,) = torch.autograd.grad(x.sum(), c)
    expected = -torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64) / (2 * 2.0 - 3.0)
    assert torch.allclose(g[0], expected)


def _singular_kabsch():
    """d = -1 with s2 = s3: the best rotation is not unique and dF/dR is singular (k2 + k3 = 0)."""
    P = torch.eye(3, dtype=torch.float64)
    Q = torch.diag(torch.tensor([2.0, 1.0, -1.0], dtype=torch.float64))
    return P, Q, torch.ones(3, dtype=torch.float64)


def test_singular_jacobian_warns_flags_and_isolates_problems():
    good = gp.inputs("kabsch", 1, seed=2)
    bad = _singular_kabsch()
    P = torch.stack([good[0][0, :3], bad[0]]).requires_grad_(True)
    Q = torch.stack([good[1][0, :3], bad[1]])
    w = torch.ones(2, 3, dtype=torch.float64)
    G = torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.warns(implicit.SingularJacobianWarning) as record:
        with implicit.policy("warn") as log:
            R = sv.kabsch(P, Q, w, backward="ift")
        (g,) = torch.autograd.grad((R * G).sum(), P)
    assert record[0].message.items == [1]
    assert log.flags().tolist() == [False, True]
    assert torch.isfinite(g).all() and g[1].abs().max() == 0
    P0 = P[:1].detach().clone().requires_grad_(True)
    (g0,) = torch.autograd.grad((sv.kabsch(P0, Q[:1], w[:1], backward="ift") * G).sum(), P0)
    assert torch.allclose(g[0], g0[0], atol=1e-12)  # problem 0's gradient is its own


def test_singular_jacobian_raises_when_asked():
    P, Q, w = _singular_kabsch()
    P = P.requires_grad_(True)
    with implicit.policy("raise"):
        R = sv.kabsch(P, Q, w, backward="ift")
    with pytest.raises(implicit.SingularJacobianError, match="singular or ill-conditioned"):
        R.sum().backward()


def test_cond_limit_flags_ill_conditioned_problems():
    x = gp.inputs("kabsch", 3, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with implicit.policy(cond_limit=1e12) as log:
            R = sv.kabsch(*(t.clone().requires_grad_(True) for t in x), backward="ift")
        R.sum().backward()
    assert not log.flags().any() and (log.cond() > 1).all()
    with pytest.warns(implicit.SingularJacobianWarning):
        with implicit.policy(cond_limit=1.0 + 1e-9) as log:
            R = sv.kabsch(*(t.clone().requires_grad_(True) for t in x), backward="ift")
        R.sum().backward()
    assert log.flags().all()


def test_policy_rejects_bad_settings():
    with pytest.raises(ValueError, match="on_singular"):
        with implicit.policy("ignore"):
            pass
    with pytest.raises(ValueError, match="cond_limit"):
        with implicit.policy(cond_limit=0.5):
            pass


def test_non_square_residual_is_refused():
    y = torch.zeros(1, 2, dtype=torch.float64)
    c = torch.ones(1, 1, dtype=torch.float64, requires_grad=True)
    out = implicit.implicit(lambda yy, cc: torch.cat([yy, yy[:, :1] * cc], -1), y, (c,))
    with pytest.raises(ValueError, match="square"):
        out.sum().backward()


def test_closed_form_essential_vjp_equals_torch_func():
    g = torch.Generator().manual_seed(1)
    E = torch.randn(4, 3, 3, generator=g, dtype=torch.float64)
    x1, x2 = torch.randn(2, 4, 5, 2, generator=g, dtype=torch.float64)
    u = torch.randn(4, 9, generator=g, dtype=torch.float64)
    frame = es.essential_frame(E)
    closed = es.essential_vjp_x(E.flatten(-2), u, x1, x2, frame)
    _, pull = torch.func.vjp(lambda a, b: es.essential_residual(E.flatten(-2), a, b, frame), x1, x2)
    for c, f in zip(closed, pull(u), strict=True):
        assert torch.allclose(c, f, atol=1e-12)
