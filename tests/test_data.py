"""Seeded generators: reproducible, geometrically consistent, outliers where the mask says."""

import math

import pytest
import torch

from mbp_teach import data
from mbp_teach.solvers import epipolar_residuals, sampson_distance


def test_seed_and_generator():
    a = data.two_view(20, 3, noise=1.0, outlier_fraction=0.3, seed=7)
    b = data.two_view(20, 3, noise=1.0, outlier_fraction=0.3, seed=7)
    assert torch.equal(a.u2, b.u2) and torch.equal(a.inlier, b.inlier)
    g = torch.Generator().manual_seed(7)
    first, second = data.random_rotation(2, seed=g), data.random_rotation(2, seed=g)
    assert not torch.equal(first, second)  # a generator advances between calls
    assert torch.equal(first, data.random_rotation(2, seed=7))
    with pytest.raises(ValueError, match="seed"):
        data.random_rotation(seed=1.5)


def test_rotations_are_rotations_and_uniform():
    R = data.random_rotation(4000, seed=0)
    eye = torch.eye(3, dtype=torch.float64)
    assert (R.transpose(-1, -2) @ R - eye).abs().max() < 1e-14
    assert (torch.linalg.det(R) - 1).abs().max() < 1e-14
    assert R.mean(0).abs().max() < 0.05  # Haar measure: E[R] = 0
    small = data.random_rotation(500, seed=1, max_angle=0.2)
    assert data.rotation_angle(small).max() <= 0.2 + 1e-12


def test_rigid_motion():
    R, t = data.rigid_motion((3, 4), seed=2, max_angle=0.1, translation=2.0)
    assert R.shape == (3, 4, 3, 3) and t.shape == (3, 4, 3)
    assert data.rotation_angle(R).max() <= 0.1 + 1e-12
    assert 1.0 < t.std() < 3.0
    _, t0 = data.rigid_motion(5, seed=2, translation=0.0)
    assert (t0 == 0).all()


def test_axis_angle_and_rotation_angle():
    axis = torch.tensor([[0.0, 0, 2], [1, 1, 0]], dtype=torch.float64)
    angle = torch.tensor([0.3, math.pi], dtype=torch.float64)
    R = data.axis_angle(axis, angle)
    assert torch.allclose(R[0, :2, :2], torch.tensor([[math.cos(0.3), -math.sin(0.3)],
                                                      [math.sin(0.3), math.cos(0.3)]], dtype=torch.float64))
    assert torch.allclose(data.rotation_angle(R), angle, atol=1e-15, rtol=0)
    assert torch.allclose(R[1] @ torch.tensor([1.0, 1, 0], dtype=torch.float64),
                          torch.tensor([1.0, 1, 0], dtype=torch.float64))


def test_point_cloud_outliers_and_noise():
    prob = data.point_cloud(50, (2, 3), noise=0.0, outlier_fraction=0.3, seed=2)
    assert prob.P.shape == (2, 3, 50, 3) and prob.inlier.shape == (2, 3, 50)
    assert (prob.inlier.sum(-1) == 35).all()
    res = torch.linalg.vector_norm(prob.P @ prob.R.transpose(-1, -2) + prob.t[..., None, :] - prob.Q, dim=-1)
    assert res[prob.inlier].max() < 1e-14 and res[~prob.inlier].min() > 1e-3
    noisy = data.point_cloud(2000, noise=0.1, seed=3)
    r = noisy.P @ noisy.R.T + noisy.t - noisy.Q
    assert r.std().item() == pytest.approx(0.1, rel=0.05)


def test_two_view_geometry():
    scene = data.two_view(100, 16, seed=4)
    assert scene.x1.shape == (16, 100, 2) and scene.E.shape == (16, 3, 3)
    X2 = scene.X @ scene.R.transpose(-1, -2) + scene.t[..., None, :]
    assert scene.X[..., 2].min() > 0 and X2[..., 2].min() > 0  # in front of both cameras
    assert torch.allclose(torch.linalg.vector_norm(scene.t, dim=-1), torch.ones(16, dtype=torch.float64))
    assert epipolar_residuals(scene.E, scene.x1, scene.x2).abs().max() < 1e-14
    assert sampson_distance(scene.F, scene.u1, scene.u2).max() < 1e-18
    # x1 is the projection of X; pixels are K times normalised coordinates
    assert torch.allclose(scene.x1, scene.X[..., :2] / scene.X[..., 2:])
    assert torch.allclose(scene.u2, scene.x2 * torch.diagonal(scene.K)[:2] + scene.K[:2, 2])
    # most points stay inside image 2 (camera 2 looks at the middle of the scene)
    inside = ((scene.u2 >= 0) & (scene.u2 <= torch.tensor([640.0, 480.0], dtype=torch.float64))).all(-1)
    assert inside.float().mean() > 0.8


def test_two_view_outliers_noise_and_ranges():
    scene = data.two_view(200, 64, outlier_fraction=(0.3, 0.7), noise=0.5, seed=5)
    frac = 1 - scene.inlier.float().mean(-1)
    assert frac.min() >= 0.3 - 1e-9 and frac.max() <= 0.7 + 1e-9 and frac.std() > 0.05
    d = sampson_distance(scene.F, scene.u1, scene.u2).sqrt()  # pixels
    assert d[scene.inlier].median() < 1.0
    assert d[~scene.inlier].median() > 5.0
    f32 = data.two_view(10, 2, seed=0, dtype=torch.float32)
    assert f32.x1.dtype == torch.float32 and f32.E.dtype == torch.float32


@pytest.mark.parametrize("call, match", [
    (lambda: data.two_view(0), "n"),
    (lambda: data.two_view(10, noise=-1.0), "noise"),
    (lambda: data.two_view(10, outlier_fraction=1.5), "outlier_fraction"),
    (lambda: data.two_view(10, outlier_fraction=(0.6, 0.2)), "outlier_fraction"),
    (lambda: data.two_view(10, depth=(5.0, 1.0)), "depth"),
    (lambda: data.point_cloud(10, batch=(2, 0)), "batch"),
    (lambda: data.random_rotation(3, max_angle=4.0), "max_angle"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
