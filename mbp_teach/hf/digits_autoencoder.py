"""The digits autoencoder: the real-data analogue of Martens' (2010) MNIST autoencoder, at CPU scale.

Data: scikit-learn's bundled handwritten digits (``mbp_teach.realdata.digits``: 8 x 8 images, pixels in
[0, 1], no download). Network: the architecture of ``hf.curves.autoencoder`` (Hinton & Salakhutdinov 2006;
Martens 2010): logistic hidden units, a linear code layer, logistic outputs, sparse initialisation.
Objective: F(theta) = 1/N sum_i 1/2 ||f(theta, x_i) - x_i||^2 over the N training images x_i (64,).

``encoder_sizes(depth, code)`` is the one knob that moves the problem between the two regimes of
notebook 06: depth 1 (64-32-code, shallow) is easy for Adam; deep and narrow (64-48-32-24-16-12-code)
is the kind of net where Martens saw first-order methods stall on a plateau.
"""

from __future__ import annotations

import torch

from mbp_teach.hf.curvature import ModuleObjective, sum_squared_error
from mbp_teach.hf.curves import autoencoder
from mbp_teach.realdata import SIDE, digits

HIDDEN = (48, 32, 24, 16, 12)  # encoder hidden widths, outermost first; depth d keeps the first d
PIXELS = SIDE * SIDE


def encoder_sizes(depth: int, code: int = 4) -> tuple[int, ...]:
    """(64, h_1, ..., h_depth, code): the encoder's widths; the decoder mirrors them.

    depth 1 is (64, 32, code) (a shallow net: one logistic layer each side of the code); depth d >= 2 keeps
    the first d widths of HIDDEN = (48, 32, 24, 16, 12)."""
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= len(HIDDEN):
        raise ValueError(f"depth: need an integer from 1 to {len(HIDDEN)}, got {depth!r}")
    if not isinstance(code, int) or isinstance(code, bool) or not 1 <= code < PIXELS:
        raise ValueError(f"code: need an integer from 1 to {PIXELS - 1}, got {code!r}")
    hidden = (32,) if depth == 1 else HIDDEN[:depth]
    return (PIXELS, *hidden, code)


def digits_autoencoder_objective(depth: int = 5, code: int = 4, n_train: int = 500, n_test: int = 300,
                                 seed: int = 0, data_seed: int = 0) -> tuple[ModuleObjective, torch.Tensor]:
    """(objective on the n_train training images, test images (n_test, 64)).

    ``seed`` draws the sparse initial weights (a fresh network each call); ``data_seed`` the digits' split,
    fixed across seeds so that every run sees the same images."""
    data = digits(n_train, n_test, seed=data_seed)
    model = autoencoder(encoder_sizes(depth, code), seed=seed)
    return ModuleObjective(model, sum_squared_error, data.train, data.train), data.test


def reconstruction_error(objective: ModuleObjective, images: torch.Tensor) -> float:
    """1/n sum_i 1/2 ||f(theta, x_i) - x_i||^2 over ``images`` (n, 64) at the objective's current weights."""
    with torch.no_grad():
        return float(objective.loss_fn(objective.model(images), images))


def reconstructions(objective: ModuleObjective, images: torch.Tensor) -> torch.Tensor:
    """f(theta, x) for ``images`` (n, 64), as (n, 8, 8) in [0, 1] for imshow."""
    with torch.no_grad():
        return objective.model(images).reshape(-1, SIDE, SIDE)


def mean_image_loss(images: torch.Tensor) -> float:
    """1/n sum_i 1/2 ||m - x_i||^2 with m the mean of ``images`` (n, 64): the loss of a network that outputs the
    mean image whatever its input. An autoencoder whose code carries nothing yet sits at this plateau."""
    if images.dim() != 2 or images.shape[0] < 1:
        raise ValueError(f"images: need shape (n, pixels) with n >= 1, got {tuple(images.shape)}")
    return float(0.5 * ((images - images.mean(dim=0)) ** 2).sum(dim=1).mean())
