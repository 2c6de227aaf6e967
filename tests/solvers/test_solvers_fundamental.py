"""eight_point: rank 2, unit norm, epipolar residuals at round-off, weights, batches, bad input."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach import data
from mbp_teach.solvers import eight_point, epipolar_residuals, hartley_normalisation, sampson_distance

SETTINGS = settings(deadline=None, derandomize=True, max_examples=20)
seeds = st.integers(0, 2**31 - 1)


def up_to_sign(A, B):
    A = A / torch.linalg.matrix_norm(A)[..., None, None]
    B = B / torch.linalg.matrix_norm(B)[..., None, None]
    return torch.minimum(torch.linalg.matrix_norm(A - B), torch.linalg.matrix_norm(A + B))


@SETTINGS
@given(seeds, st.integers(8, 60))
def test_noise_free_pixels_give_the_true_F(seed, n):
    scene = data.two_view(n, 16, seed=seed)
    F = eight_point(scene.u1, scene.u2)
    s = torch.linalg.svdvals(F)
    assert (s[..., 2] / s[..., 0]).max() < 1e-12  # rank 2 (exactly, up to round-off)
    assert (torch.linalg.matrix_norm(F) - 1).abs().max() < 1e-12
    # residuals at round-off: algebraic in normalised units and geometric in pixels
    assert sampson_distance(F, scene.u1, scene.u2).sqrt().max() < 1e-7
    assert up_to_sign(F, scene.F).max() < 1e-8
    assert epipolar_residuals(F, scene.u1, scene.u2).abs().max() < 1e-9


@SETTINGS
@given(seeds, st.floats(0.2, 0.6))
def test_zero_weights_remove_outliers(seed, frac):
    scene = data.two_view(40, 4, outlier_fraction=frac, seed=seed)
    w = scene.inlier.to(torch.float64)
    F = eight_point(scene.x1, scene.x2, w)
    res = epipolar_residuals(F, scene.x1, scene.x2).abs()
    assert res[scene.inlier].max() < 1e-12
    assert up_to_sign(F, scene.E).max() < 1e-8


def test_hartley_normalisation():
    x = torch.randn(3, 20, 2, dtype=torch.float64) * 100 + 300
    w = torch.rand(3, 20, dtype=torch.float64)
    xn, T = hartley_normalisation(x, w)
    assert torch.allclose((w[..., None] * xn).sum(-2), torch.zeros(3, 2, dtype=torch.float64), atol=1e-10)
    ms = (w * (xn**2).sum(-1)).sum(-1) / w.sum(-1)
    assert torch.allclose(ms, torch.full((3,), 2.0, dtype=torch.float64))
    xh = torch.cat([x, torch.ones_like(x[..., :1])], -1)
    assert torch.allclose((xh @ T.transpose(-1, -2))[..., :2], xn)


def test_batch_dims_and_float32():
    scene = data.two_view(12, (2, 3), seed=1, dtype=torch.float32)
    F = eight_point(scene.x1, scene.x2)
    assert F.shape == (2, 3, 3, 3) and F.dtype == torch.float32
    assert up_to_sign(F, scene.E).max() < 5e-3


def test_noise_gives_small_error():
    scene = data.two_view(200, 8, noise=0.5, seed=2)
    F = eight_point(scene.u1, scene.u2)
    assert sampson_distance(F, scene.u1, scene.u2).sqrt().median() < 1.0  # pixels, noise 0.5 px


def test_autograd_gradients():
    scene = data.two_view(10, noise=0.5, seed=3)
    x1, x2 = scene.x1.clone().requires_grad_(), scene.x2.clone().requires_grad_()
    w = torch.rand(10, generator=torch.Generator().manual_seed(0), dtype=torch.float64).add(0.1).requires_grad_()

    def outer(x1, x2, w):  # sign-invariant function of F
        F = eight_point(x1, x2, w).flatten()
        return F[:, None] * F[None, :]

    assert torch.autograd.gradcheck(outer, (x1, x2, w))


def test_gradient_at_zero_weight_is_finite():
    scene = data.two_view(12, noise=0.5, seed=3)
    w = torch.ones(12, dtype=torch.float64)
    w[:2] = 0
    w.requires_grad_()
    F = eight_point(scene.x1, scene.x2, w)
    (F * F.detach()).sum().backward()
    assert torch.isfinite(w.grad).all()


X8 = torch.rand(10, 2, dtype=torch.float64)


@pytest.mark.parametrize("args, match", [
    ((torch.rand(10, 3), torch.rand(10, 3)), "expected shape"),
    ((torch.rand(7, 2), torch.rand(7, 2)), "too few points"),
    ((torch.rand(10, 2), torch.rand(9, 2)), "shapes must match"),
    ((X8, X8.clone().fill_(float("inf"))), "NaN or infinite"),
    ((X8, X8, torch.ones(10, dtype=torch.float64).index_fill(0, torch.tensor([0, 1, 2]), 0)), "fewer than 8"),
    ((X8, X8, -torch.ones(10, dtype=torch.float64)), "non-negative"),
    ((X8, X8, torch.zeros(10, dtype=torch.float64)), "all weights are zero"),
    ((torch.ones(10, 2, dtype=torch.float64), X8), "coincide"),
    # points on a line in both images: the epipolar system has rank < 8
    ((torch.linspace(0, 1, 10, dtype=torch.float64)[:, None].expand(10, 2),
      torch.linspace(0, 1, 10, dtype=torch.float64)[:, None] * torch.tensor([1.0, 2.0], dtype=torch.float64)),
     "rank < 8"),
])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        eight_point(*args)
