"""Central differences, their V-shaped error, and the Richardson reference."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach.gradients import finite_diff as fd


def f(x):
    return torch.sin(x).sum() + (x**3).prod()


def grad_f(x):
    return torch.cos(x) + 3 * x**2 * (x**3).prod() / x**3


@settings(deadline=None, derandomize=True, max_examples=20)
@given(st.lists(st.floats(0.3, 2.0), min_size=2, max_size=4))
def test_central_and_vectorized_agree_with_the_derivative(values):
    x = torch.tensor(values, dtype=torch.float64)
    (g,) = fd.central(f, (x,), 1e-5)
    (gv,) = fd.central(lambda z: torch.sin(z).sum(-1) + (z**3).prod(-1), (x,), 1e-5, vectorized=True)
    exact = grad_f(x)
    assert torch.allclose(g, exact, rtol=1e-8, atol=1e-8)
    assert torch.allclose(gv, g, rtol=1e-12, atol=1e-12)


def test_richardson_beats_plain_central_differences():
    x = torch.tensor([0.7, 1.3], dtype=torch.float64)
    exact = grad_f(x)
    (plain,) = fd.central(f, (x,), 1e-2)
    (rich,) = fd.reference_gradient(f, (x,), h=1e-2, levels=4)
    assert (rich - exact).abs().max() < 1e-12 < (plain - exact).abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_error_is_V_shaped_with_bottom_near_optimal_step(dtype):
    x = torch.tensor([0.7, 1.3], dtype=torch.float64)
    v = torch.tensor([1.0, -0.5], dtype=torch.float64)
    exact = float(grad_f(x) @ v)
    steps = [10.0**k for k in range(-12, 0)]
    err = fd.step_errors(f, (x,), (v,), steps, exact, dtype)
    best = int(torch.argmin(err))
    assert err[0] > 10 * err[best] and err[-1] > 10 * err[best]
    h_star = fd.optimal_step(dtype)
    assert abs(math.log10(steps[best]) - math.log10(h_star)) <= 1.5
    assert err[best] < 100 * torch.finfo(dtype).eps ** (2 / 3)


def test_optimal_step_values():
    assert fd.optimal_step(torch.float64) == pytest.approx((3 * 2.0**-52) ** (1 / 3))
    assert 1e-3 < fd.optimal_step(torch.float32) < 1e-2


def test_bad_arguments():
    x = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="h"):
        fd.central(f, (x,), 0.0)
    with pytest.raises(ValueError, match="levels"):
        fd.reference_gradient(f, (x,), levels=0)
    with pytest.raises(ValueError, match="floating-point"):
        fd.central(f, (torch.ones(2, dtype=torch.int64),), 1e-3)
    with pytest.raises(ValueError, match="direction"):
        fd.directional(f, (x,), (torch.ones(3, dtype=torch.float64),), 1e-3)
