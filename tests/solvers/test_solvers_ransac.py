"""RANSAC around five_point: sample counts, distinct samples, batched recovery of E and inliers."""

import math

import pytest
import torch

from mbp_teach import data
from mbp_teach.solvers import ransac


def test_iterations_formula():
    assert ransac.iterations_needed(0.5, 5) == 146
    assert ransac.iterations_needed(0.5, 8) == 1177
    assert ransac.iterations_needed(1.0, 5) == 1
    k = ransac.iterations_needed(0.7, 5, 0.95)
    assert (1 - 0.7**5) ** k <= 0.05 < (1 - 0.7**5) ** (k - 1)
    with pytest.raises(ValueError, match="inlier_ratio"):
        ransac.iterations_needed(0.0, 5)


def test_samples_are_distinct_and_reproducible():
    idx = ransac.sample_indices(12, 5, 300, (2,), seed=1)
    assert idx.shape == (2, 300, 5)
    assert (idx.sort(-1).values.diff(dim=-1) > 0).all() and idx.max() < 12
    assert torch.equal(idx, ransac.sample_indices(12, 5, 300, (2,), seed=1))
    with pytest.raises(ValueError, match="at least 5"):
        ransac.sample_indices(4, 5, 3, ())


def test_batched_ransac_recovers_geometry():
    scene = data.two_view(80, 3, noise=0.3, outlier_fraction=0.4, seed=2)
    res = ransac.ransac_essential(scene.x1, scene.x2, iterations=ransac.iterations_needed(0.6, 5), threshold=1.5 / 500,
                                  seed=0)
    assert res.E.shape == (3, 3, 3) and res.inlier.shape == (3, 80) and res.refit.shape == (3, 3, 3)
    found = (res.inlier & scene.inlier).sum(-1).float() / scene.inlier.sum(-1)
    wrong = (res.inlier & ~scene.inlier).sum(-1)
    assert found.min() > 0.9 and wrong.max() <= 2
    Et = scene.E / math.sqrt(2)
    d = torch.minimum(torch.linalg.matrix_norm(res.refit - Et), torch.linalg.matrix_norm(res.refit + Et))
    assert d.max() < 0.05


@pytest.mark.parametrize("kwargs, match", [
    (dict(iterations=0), "iterations"),
    (dict(threshold=-1.0), "threshold"),
])
def test_bad_arguments(kwargs, match):
    scene = data.two_view(20, seed=0)
    with pytest.raises(ValueError, match=match):
        ransac.ransac_essential(scene.x1, scene.x2, **kwargs)
    with pytest.raises(ValueError, match="too few"):
        ransac.ransac_essential(scene.x1[:7], scene.x2[:7])
