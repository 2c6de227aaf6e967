"""The paper's toys: the outlier's weight is learned away through the solver, with a correct gradient."""

import math

import pytest
import torch

from mbp_teach.minbackprop import toys


@pytest.fixture(autouse=True)
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_rotation_toy_ift_rejects_the_outlier_in_30_steps():
    problem, P, Q = toys.rotation_toy(0.1)
    hist = toys.train_weights(problem, "ift", lr=0.1, steps=30)
    assert hist.stable
    assert hist.loss[0] > 1.0  # degrees: the outlier tilts the rotation at the start
    assert hist.loss[-1] < 0.01
    w = hist.weights[-1]
    assert w[0] < 0.01 * min(w[1:])


@pytest.mark.parametrize("backward", ["autograd", "ddn"])
def test_rotation_toy_other_backwards_follow_the_same_path(backward):
    problem, _, _ = toys.rotation_toy(0.1)
    ift = toys.train_weights(problem, "ift", steps=10)
    other = toys.train_weights(problem, backward, steps=10)
    assert other.stable
    assert other.loss[0] == pytest.approx(ift.loss[0], rel=1e-12)  # same forward
    assert other.weights[-1] == pytest.approx(ift.weights[-1], rel=1e-6, abs=1e-12)  # same gradients


def central_difference(f, w, h=1e-6):
    g = torch.zeros_like(w)
    for i in range(w.numel()):
        e = torch.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


@pytest.mark.parametrize("toy", ["rotation", "fundamental"])
def test_ift_gradient_of_the_toy_loss_matches_finite_differences(toy):
    problem = toys.rotation_toy(0.1)[0] if toy == "rotation" else toys.fundamental_toy(displacement=0.1)[0]
    w = torch.full((problem.n,), 0.25, requires_grad=True)
    (g,) = torch.autograd.grad(problem.loss(toys.effective(w), "ift"), w)
    fd = central_difference(lambda v: problem.loss(toys.effective(v), "ift").detach(), w.detach())
    assert torch.linalg.vector_norm(g - fd) <= 1e-6 * torch.linalg.vector_norm(fd)


def test_fundamental_toy_drives_the_outlier_to_zero():
    problem, scene = toys.fundamental_toy(displacement=0.1, seed=0)
    assert not bool(scene.inlier[0]) and bool(scene.inlier[1:].all())
    hist = toys.train_weights(problem, "ift", lr=3.0, steps=30)
    assert hist.stable and hist.loss[-1] < 1e-10 < hist.loss[0]
    assert hist.weights[-1][0] == 0.0 and min(hist.weights[-1][1:]) > 0


def test_bad_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="displacement"):
        toys.rotation_toy(0.0)
    with pytest.raises(ValueError, match="at least 9"):
        toys.fundamental_toy(n=8)
    problem = toys.rotation_toy(0.1)[0]
    with pytest.raises(ValueError, match="lr"):
        toys.train_weights(problem, "ift", lr=-1.0)
    with pytest.raises(ValueError, match="backward"):
        toys.train_weights(problem, "magic")
    with pytest.raises(ValueError, match="step .*smaller lr"):
        toys.train_weights(toys.fundamental_toy()[0], "ift", lr=1e3, steps=5)


def test_non_finite_gradient_stops_the_run_and_is_recorded():
    def loss(weights, backward):
        return torch.sqrt((weights - weights.detach()).sum())  # value 0, gradient inf

    problem = toys.WeightProblem(loss, 3, 0, "broken", "1")
    hist = toys.train_weights(problem, "ift", steps=5)
    assert not hist.stable and hist.failed_at == 0 and "gradient" in hist.failure
    assert len(hist.loss) == 1 and math.isfinite(hist.loss[0])
