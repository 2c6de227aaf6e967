"""kabsch / rigid_transform: exact recovery, weights, batches, dtypes, gradients, bad input."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach import data
from mbp_teach.solvers import kabsch, rigid_transform

SETTINGS = settings(deadline=None, derandomize=True, max_examples=30)
seeds = st.integers(0, 2**31 - 1)


def assert_rotation(R, R_true, tol):
    eye = torch.eye(3, dtype=R.dtype)
    assert (R.transpose(-1, -2) @ R - eye).abs().max() < tol
    assert (torch.linalg.det(R) - 1).abs().max() < tol
    assert (R - R_true).abs().max() < tol
    assert data.rotation_angle(R, R_true).max() < tol


@SETTINGS
@given(seeds, st.integers(2, 40), st.sampled_from([1.0, 1e-3, 1e-8, 0.0]))
def test_kabsch_recovers_rotation_noise_free(seed, n, planarity):
    # planarity 0 gives exactly planar sets (rank 2): the rotation is still determined
    prob = data.point_cloud(n, 8, translate=False, planarity=planarity, seed=seed)
    if n == 2 and planarity == 0.0:
        return  # two points of a plane through the origin: still fine, but covered by n >= 3
    R = kabsch(prob.P, prob.Q)
    assert_rotation(R, prob.R, 1e-10)


@SETTINGS
@given(seeds, st.integers(3, 30))
def test_half_turns_recovered(seed, n):
    g = data.generator(seed)
    axis = torch.randn(8, 3, generator=g, dtype=torch.float64)
    R_true = data.axis_angle(axis, torch.full((8,), math.pi, dtype=torch.float64))
    P = torch.randn(8, n, 3, generator=g, dtype=torch.float64)
    R = kabsch(P, P @ R_true.transpose(-1, -2))
    assert_rotation(R, R_true, 1e-10)
    assert data.rotation_angle(R).sub(math.pi).abs().max() < 1e-10


@SETTINGS
@given(seeds, st.integers(3, 30), st.floats(0.1, 0.6))
def test_zero_weights_ignore_outliers_and_rigid_transform(seed, n, frac):
    prob = data.point_cloud(n + 3, 4, outlier_fraction=frac, seed=seed)
    # keep at least three inliers so the problem stays determined
    w = prob.inlier.to(torch.float64)
    if bool((w.sum(-1) < 3).any()):
        return
    R, t = rigid_transform(prob.P, prob.Q, w)
    assert_rotation(R, prob.R, 1e-10)
    assert (t - prob.t).abs().max() < 1e-10


def test_weights_are_the_objective():
    # the returned R beats nearby rotations on sum_i w_i ||R p_i - q_i||^2
    prob = data.point_cloud(20, noise=0.3, seed=3)
    w = torch.rand(20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    R = kabsch(prob.P, prob.Q, w)

    def cost(R):
        return (w * ((prob.P @ R.T - prob.Q) ** 2).sum(-1)).sum()

    for k in range(20):
        dR = data.axis_angle(torch.randn(3, generator=torch.Generator().manual_seed(k), dtype=torch.float64),
                             torch.tensor(1e-3))
        assert cost(R) < cost(dR @ R)


def test_batch_dims_and_float32():
    prob = data.point_cloud(10, (2, 3), translate=False, seed=0, dtype=torch.float32)
    R = kabsch(prob.P, prob.Q)
    assert R.shape == (2, 3, 3, 3) and R.dtype == torch.float32
    assert_rotation(R, prob.R, 1e-5)
    R2, t = rigid_transform(prob.P, prob.Q, torch.ones(2, 3, 10, dtype=torch.float32))
    assert t.shape == (2, 3, 3) and t.dtype == torch.float32 and t.abs().max() < 1e-5


def test_autograd_gradients_finite_and_correct():
    prob = data.point_cloud(6, noise=0.1, seed=5)
    P, Q = prob.P.clone().requires_grad_(), prob.Q.clone().requires_grad_()
    w = torch.rand(6, generator=torch.Generator().manual_seed(0), dtype=torch.float64).requires_grad_()
    R, t = rigid_transform(P, Q, w)
    (R.sum() + t.sum()).backward()
    assert all(torch.isfinite(g).all() for g in (P.grad, Q.grad, w.grad))
    assert torch.autograd.gradcheck(lambda P, Q, w: kabsch(P, Q, w), (P.detach().requires_grad_(),
                                    Q.detach().requires_grad_(), w.detach().requires_grad_()))


def test_gradient_of_zero_weight_is_finite():
    prob = data.point_cloud(6, noise=0.1, seed=5)
    w = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    kabsch(prob.P, prob.Q, w).sum().backward()
    assert torch.isfinite(w.grad).all() and w.grad[4:].abs().sum() > 0


P3 = torch.randn(4, 3, dtype=torch.float64)


@pytest.mark.parametrize("args, match", [
    ((torch.randn(4, 2), torch.randn(4, 2)), "expected shape"),
    ((torch.randn(4, 3), torch.randn(5, 3)), "shapes must match"),
    ((torch.randn(1, 3), torch.randn(1, 3)), "too few points"),
    ((torch.full((4, 3), float("nan")), torch.randn(4, 3)), "NaN"),
    ((P3, P3, -torch.ones(4, dtype=torch.float64)), "non-negative"),
    ((P3, P3, torch.zeros(4, dtype=torch.float64)), "all weights are zero"),
    ((P3, P3, torch.ones(3, dtype=torch.float64)), "one weight per point"),
    ((P3, P3, torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)), "fewer than 2"),
    ((torch.tensor([[1.0, 2, 3], [2, 4, 6], [-1, -2, -3]]),) * 2, "collinear"),
    ((torch.zeros(5, 3),) * 2, "collinear or coincident"),
    ((P3, P3, None, "sideways"), "backward"),
])
def test_kabsch_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        if len(args) == 4:
            kabsch(args[0], args[1], args[2], backward=args[3])
        else:
            kabsch(*args)


def test_rigid_transform_degenerate_sets():
    line = torch.tensor([[0.0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]], dtype=torch.float64)
    with pytest.raises(ValueError, match="collinear"):
        rigid_transform(line, line + 1)
    # the batch check names how many problems are bad and the first one's index
    good = data.point_cloud(4, 5, seed=0)
    P = good.P.clone()
    P[3] = line
    with pytest.raises(ValueError, match=r"1 of 5 problem\(s\) \(first at batch index \(3,\)\)"):
        rigid_transform(P, good.Q)
    with pytest.raises(ValueError, match="too few points"):
        rigid_transform(line[:2], line[:2])
