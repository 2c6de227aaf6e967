"""Lanczos, Hutchinson and the per-layer Gauss-Newton curvature against dense matrices."""

import numpy as np
import pytest
import torch

from mbp_teach.hf.curvature import ModuleObjective, dense, sum_squared_error
from mbp_teach.hf.digits_autoencoder import digits_autoencoder_objective
from mbp_teach.hf.regimes import gauss_newton_spectrum, hutchinson_trace, lanczos, layer_curvatures


def _spd(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eig = torch.logspace(-3, 2, n, dtype=torch.float64)
    return q @ torch.diag(eig) @ q.T, eig


def test_lanczos_finds_the_top_eigenvalue_and_all_of_them_with_enough_steps():
    a, eig = _spd(40)
    top = lanczos(lambda v: a @ v, 40, 15)
    assert len(top) == 15
    assert top[-1] == pytest.approx(float(eig[-1]), rel=1e-8)
    full = lanczos(lambda v: a @ v, 40, 40)
    assert np.allclose(np.sort(full), eig.numpy(), rtol=1e-6, atol=1e-8)


def test_hutchinson_is_exact_on_a_diagonal_and_close_on_a_full_matrix():
    d = torch.arange(1.0, 11.0, dtype=torch.float64)
    assert hutchinson_trace(lambda v: d * v, 10, probes=3) == pytest.approx(float(d.sum()), rel=1e-12)
    a, eig = _spd(30, seed=1)
    assert hutchinson_trace(lambda v: a @ v, 30, probes=400) == pytest.approx(float(eig.sum()), rel=0.15)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError):
        lanczos(lambda v: v, 5, bad)
    with pytest.raises(ValueError):
        hutchinson_trace(lambda v: v, 5, probes=bad)


def test_layer_curvatures_match_the_dense_gauss_newton_blocks():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4, dtype=torch.float64), torch.nn.Sigmoid(),
                              torch.nn.Linear(4, 2, dtype=torch.float64))
    x = torch.randn(12, 3, dtype=torch.float64)
    obj = ModuleObjective(net, sum_squared_error, x, torch.randn(12, 2, dtype=torch.float64))
    g = dense(obj.gauss_newton(obj.get_params()), obj.dim)
    blocks = [(0, 12), (16, 24)]  # the two weight matrices in the flat vector (biases after each)
    exact = [float(torch.diagonal(g)[a:b].mean()) for a, b in blocks]
    est = layer_curvatures(obj, probes=400)
    assert np.allclose(est, exact, rtol=0.15)
    spec = gauss_newton_spectrum(obj, steps=obj.dim, probes=400)
    assert spec.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(g)[-1]), rel=1e-8)
    assert spec.spread == pytest.approx(spec.lambda_max / (spec.trace / obj.dim))
    assert spec.trace == pytest.approx(float(torch.trace(g)), rel=0.15)


def test_depth_spreads_the_curvature_across_layers():
    """The regimes' separator: at initialisation the input-side weights of the deep net see orders of magnitude
    less curvature than its output side; in the shallow net the two are within a small factor."""
    torch.set_default_dtype(torch.float64)
    ratio = {}
    for depth in (1, 5):
        obj, _ = digits_autoencoder_objective(depth, 4, n_train=100, n_test=5)
        c = layer_curvatures(obj, probes=3)
        ratio[depth] = c[-1] / c[0]
    assert ratio[1] < 10 and ratio[5] > 1000
