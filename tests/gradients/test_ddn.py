"""The declarative-node gradient: gradcheck for every solver, agreement with IFT, the formula's limits."""

import dataclasses
import warnings

import pytest
import torch

from mbp_teach import solvers as sv
from mbp_teach.gradients import ddn, implicit
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers.rotation import KABSCH, symmetric_planar


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_gradcheck_ddn(name):
    x = tuple(t.detach().requires_grad_(True) for t in gp.inputs(name, 2, seed=1))
    f = gp.loss(name)
    assert torch.autograd.gradcheck(lambda *z: f("ddn", *z), x, eps=1e-6, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", gp.SOLVERS)
def test_ddn_equals_ift(name):
    x = gp.inputs(name, 3, seed=8)
    f = gp.loss(name)
    grads = {}
    for mode in ("ift", "ddn"):
        xs = tuple(t.clone().requires_grad_(True) for t in x)
        grads[mode] = torch.cat([g.flatten() for g in torch.autograd.grad(f(mode, *xs), xs)])
    assert (grads["ift"] - grads["ddn"]).norm() <= 1e-8 * grads["ift"].norm()


def test_plain_formula_needs_invertible_H_augmented_does_not():
    """Planar points: H = 2 K (x) I is singular (K = R^T M has a zero eigenvalue), the problem is not."""
    P, Q, w = symmetric_planar(0.2, batch=1, seed=0)
    R = KABSCH.node  # rho = 1
    assert R is not None
    Rs = sv.kabsch(P, Q, w).flatten(-2)
    with pytest.warns(implicit.SingularJacobianWarning, match="H"):
        _, flags = ddn.ddn_jacobian(dataclasses.replace(R, rho=0.0), Rs, (P, Q, w))
    assert flags.tolist() == [True]
    Dy, flags = ddn.ddn_jacobian(R, Rs, (P, Q, w))
    assert flags.tolist() == [False] and torch.isfinite(Dy).all()


def test_attach_checks_shapes():
    node = KABSCH.node
    assert node is not None
    with pytest.raises(ValueError, match="y: expected shape"):
        node.attach(torch.zeros(9), (torch.zeros(1, 4, 3),))
    with pytest.raises(ValueError, match="leading dimension"):
        node.attach(torch.zeros(2, 9), (torch.zeros(1, 4, 3),))


@pytest.mark.parametrize("name", ["kabsch", "rigid_transform", "eight_point"])
def test_float32_gradients_are_finite_and_close_unless_flagged(name):
    """float32: eps^-3/4 = 1.6e5 is the condition limit; flagged problems get no gradient through the
    implicit layer, the others are close to the float64 reference."""
    B = 4
    x64 = gp.inputs(name, B, seed=5)
    ref = torch.cat([t.reshape(B, -1) for t in gp.reference(name, x64)], 1)
    f = gp.loss(name)
    for mode in ("ift", "ddn"):
        xs = tuple(t.float().requires_grad_(True) for t in x64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
            with implicit.policy() as log:
                value = f(mode, *xs)
            g = torch.cat([t.reshape(B, -1) for t in torch.autograd.grad(value, xs)], 1)
        flags = log.flags().reshape(-1, B).any(0)
        assert g.dtype == torch.float32 and torch.isfinite(g).all() and int(flags.sum()) < B
        if name != "eight_point":  # its explicit de-normalisation bypasses the implicit layer
            assert (g[flags] == 0).all()
        ok = ~flags
        assert ((g[ok].double() - ref[ok]).norm(dim=1) <= 1e-2 * ref[ok].norm(dim=1)).all()
