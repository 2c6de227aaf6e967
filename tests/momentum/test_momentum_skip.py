"""Skip connections: gradient smoothness and per-layer norms; the autoencoder comparison's pieces."""

import numpy as np
import pytest
import torch

from mbp_teach.momentum import autoencoder as ae
from mbp_teach.momentum import skip


def test_neighbour_correlation():
    x = np.linspace(0, 3, 200)
    assert skip.neighbour_correlation(np.sin(x)) > 0.99
    noise = np.random.default_rng(0).standard_normal(2000)
    assert abs(skip.neighbour_correlation(noise)) < 0.1
    with pytest.raises(ValueError, match="constant"):
        skip.neighbour_correlation(np.ones(10))


def test_deep_plain_tanh_shatters_scaled_residual_does_not():
    x = skip.input_grid(128)
    plain = [skip.neighbour_correlation(skip.input_gradients(skip.deep_tanh_net(30, 32, seed=s), x)) for s in range(3)]
    res = [skip.neighbour_correlation(skip.input_gradients(
        skip.deep_tanh_net(30, 32, residual=True, branch_scale="sqrt", seed=s), x)) for s in range(3)]
    assert np.median(res) > 0.9 > 0.5 > np.median(plain)


def test_input_gradients_match_finite_differences():
    net = skip.deep_tanh_net(3, 8, residual=True, seed=1)
    x = skip.input_grid(5)
    g = skip.input_gradients(net, x)
    h = 1e-6
    fd = ((net(x + h) - net(x - h)) / (2 * h))[:, 0].detach().numpy()
    assert np.allclose(g, fd, atol=1e-6)


def test_layer_gradient_norms_shape_and_positivity():
    net = skip.deep_tanh_net(5, 8, seed=0)
    x = skip.input_grid(16)
    n = skip.layer_gradient_norms(net, x, torch.sin(x))
    assert n.shape == (5,) and (n > 0).all()


def test_blob_images_and_equal_parameter_counts():
    x = ae.blob_images(10, seed=0)
    assert x.shape == (10, 64) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert torch.equal(x, ae.blob_images(10, seed=0)) and not torch.equal(x, ae.blob_images(10, seed=1))
    dag = ae.dag_autoencoder()
    widths = ae.matching_widths(dag.parameter_count())
    seq = ae.sequential_autoencoder(widths)
    assert seq.parameter_count() == dag.parameter_count()
    assert dag.is_cut(3) and seq.is_cut(3)  # the 4-number code is a bottleneck in both


def test_training_reduces_error_and_reports_metrics():
    x = ae.blob_images(64, seed=0)
    r = ae.train(ae.dag_autoencoder(), x, ae.blob_images(32, seed=1), eta=0.05, tau=0.02, steps=30, target=1.0)
    assert r.train_mse[-1] < r.train_mse[0]
    assert r.steps_to_target == 0 and r.psnr == pytest.approx(10 * np.log10(1 / r.test_mse))
    table = ae.summary_table([r], 1.0)
    assert "PSNR" in table and r.name in table


def test_train_deep_curves_shape_start_and_bad_input():
    import pytest

    curves = skip.train_deep("plain", 3, [0, 1], eta=0.05, steps=20, width=8, m=16)
    assert curves.shape == (2, 21)
    assert curves[0, 0] != curves[1, 0]  # each seed its own initial weights
    assert (curves[:, -1] < curves[:, 0]).all()  # small step size: the error falls
    with pytest.raises(ValueError, match="variant"):
        skip.train_deep("dense", 3, [0], eta=0.05, steps=2)
    with pytest.raises(ValueError, match="seeds"):
        skip.train_deep("plain", 3, [], eta=0.05, steps=2)
