"""The digits autoencoder: its widths, its data, its architecture (logistic units, linear code) and its errors."""

import pytest
import torch
from torch import nn

from mbp_teach.hf.digits_autoencoder import digits_autoencoder_objective, encoder_sizes, reconstruction_error, reconstructions


def test_encoder_sizes_shallow_and_deep():
    assert encoder_sizes(1, 4) == (64, 32, 4)
    assert encoder_sizes(5, 4) == (64, 48, 32, 24, 16, 12, 4)
    assert len(encoder_sizes(3, 2)) == 5


@pytest.mark.parametrize("depth, code", [(0, 4), (6, 4), (2.0, 4), (True, 4), (2, 0), (2, 64)])
def test_bad_sizes_are_refused(depth, code):
    with pytest.raises(ValueError, match="depth|code"):
        encoder_sizes(depth, code)


def test_objective_reconstructs_its_own_inputs_with_a_mirrored_net():
    torch.set_default_dtype(torch.float64)
    obj, test = digits_autoencoder_objective(depth=2, code=3, n_train=40, n_test=10)
    assert obj.inputs.shape == (40, 64) and test.shape == (10, 64)
    assert torch.equal(obj.inputs, obj.targets)
    assert float(obj.inputs.min()) >= 0 and float(obj.inputs.max()) <= 1
    linears = [m for m in obj.model if isinstance(m, nn.Linear)]
    assert [lin.out_features for lin in linears] == [48, 32, 3, 32, 48, 64]
    # the code layer is linear: no Sigmoid right after the third Linear; the output is logistic
    layers = list(obj.model)
    code_at = layers.index(linears[2])
    assert not isinstance(layers[code_at + 1], nn.Sigmoid)
    assert isinstance(layers[-1], nn.Sigmoid)
    out = reconstructions(obj, test)
    assert out.shape == (10, 8, 8) and float(out.min()) > 0 and float(out.max()) < 1


def test_seed_changes_the_weights_not_the_images():
    a, ta = digits_autoencoder_objective(depth=1, n_train=30, n_test=5, seed=0)
    b, tb = digits_autoencoder_objective(depth=1, n_train=30, n_test=5, seed=1)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(ta, tb)
    assert not torch.equal(a.get_params(), b.get_params())


def test_reconstruction_error_is_the_objective_on_those_images():
    obj, _ = digits_autoencoder_objective(depth=1, n_train=30, n_test=5)
    assert reconstruction_error(obj, obj.inputs) == pytest.approx(obj.loss(obj.get_params()), rel=1e-12)


def test_mean_image_loss_is_the_loss_of_outputting_the_mean():
    from mbp_teach.hf.digits_autoencoder import mean_image_loss

    obj, _ = digits_autoencoder_objective(depth=1, n_train=30, n_test=5)
    x = obj.inputs
    m = x.mean(dim=0, keepdim=True).expand_as(x)
    assert mean_image_loss(x) == pytest.approx(float(obj.loss_fn(m, x)), rel=1e-12)
    shifted = x.mean(dim=0, keepdim=True).expand_as(x) + 0.01
    assert mean_image_loss(x) < float(obj.loss_fn(shifted, x))  # the mean is the best constant output
    with pytest.raises(ValueError, match="images"):
        mean_image_loss(torch.zeros(64))
