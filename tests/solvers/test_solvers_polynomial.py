"""companion_roots: roots of polynomials as companion-matrix eigenvalues."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach.solvers import companion_matrix, companion_roots

SETTINGS = settings(deadline=None, derandomize=True, max_examples=40)


def poly_from_roots(roots):
    c = torch.ones(1, dtype=torch.complex128)
    for r in roots:
        c = torch.cat([c, torch.zeros(1, dtype=c.dtype)]) - r * torch.cat([torch.zeros(1, dtype=c.dtype), c])
    return c


@SETTINGS
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=8), st.floats(0.5, 4))
def test_roots_of_a_product_are_recovered(roots, lead):
    roots = sorted(roots)
    gaps = np.diff(roots)
    if len(roots) > 1 and gaps.min() < 0.05:  # near-double roots are ill-conditioned by nature
        return
    coeffs = lead * poly_from_roots(torch.tensor(roots, dtype=torch.complex128)).real
    found = companion_roots(coeffs)
    assert found.shape == (len(roots),)
    assert torch.sort(found.real).values.numpy() == pytest.approx(np.array(roots), abs=1e-8)
    assert found.imag.abs().max() < 1e-8


def test_complex_roots_and_companion_eigenvector():
    coeffs = torch.tensor([1.0, 0.0, 1.0])  # x^2 + 1
    r = companion_roots(coeffs)
    assert torch.sort(r.imag).values.tolist() == pytest.approx([-1.0, 1.0])
    C = companion_matrix(torch.tensor([2.0, -3.0, 1.0]))  # 2x^2 - 3x + 1 = (2x - 1)(x - 1)
    for x in (0.5, 1.0):
        v = torch.tensor([x, 1.0])
        assert torch.allclose(C @ v, x * v)


def test_batched_and_float32():
    coeffs = torch.tensor([[1.0, -3.0, 2.0], [1.0, -5.0, 6.0]], dtype=torch.float32)
    r = companion_roots(coeffs)
    assert r.shape == (2, 2) and r.dtype == torch.complex64
    assert torch.sort(r.real, dim=-1).values.tolist() == [pytest.approx([1, 2]), pytest.approx([2, 3])]


def test_gradient_matches_implicit_formula():
    # d root / d c_k = -root^(d-k) / p'(root) for a simple root
    coeffs = torch.tensor([1.0, -3.0, 2.0], requires_grad=True)
    r = companion_roots(coeffs).real
    big = r.max()
    big.backward()
    x = 2.0
    expected = torch.tensor([-x**2, -x, -1.0]) / (2 * x - 3)
    assert torch.allclose(coeffs.grad, expected)


@pytest.mark.parametrize("coeffs, match", [
    ([1.0], "at least 2"),
    ([0.0, 1.0, 2.0], "leading coefficient"),
    ([1.0, float("nan")], "NaN"),
    ([1, 2, 3], None),
])
def test_bad_input(coeffs, match):
    if match is None:  # integer lists are read as float64
        assert companion_roots(coeffs).shape == (2,)
        return
    with pytest.raises(ValueError, match=match):
        companion_roots(torch.tensor(coeffs, dtype=torch.float64))


def test_integer_tensor_refused():
    with pytest.raises(ValueError, match="floating"):
        companion_roots(torch.tensor([1, 2, 3]))
