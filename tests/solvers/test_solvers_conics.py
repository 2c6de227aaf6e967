"""The two-unknown action matrix (notebook 01's warm-up) and the heat-map figure."""

import matplotlib
import numpy as np
import pytest
import torch

from mbp_teach.solvers import conics as cc
from mbp_teach.solvers.plots import matrix_heatmaps_figure

matplotlib.use("Agg")


def _random_conics(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(20))
def test_intersections_lie_on_both_conics_and_are_eigenvectors(seed):
    c1, c2 = _random_conics(seed)
    A, ok = cc.conic_action_matrix(c1, c2)
    assert ok
    pts = cc.conic_intersections(c1, c2)
    assert pts.shape == (4, 2)
    scale = 1 + pts.abs().max() ** 2
    for c in (c1, c2):
        assert float(cc.conic_value(c.to(pts.dtype), pts[:, 0], pts[:, 1]).abs().max() / scale) < 1e-9
    b = cc.basis_at(pts)
    assert float((b @ A.to(b.dtype).T - pts[:, :1] * b).abs().max() / scale) < 1e-9


def test_known_points_ellipse_and_hyperbola():
    ell = torch.tensor([1.0, 0.0, 4.0, -1.0, 0.0, -4.0])    # x^2 + 4y^2 - x - 4
    hyp = torch.tensor([0.0, 1.0, 0.0, 0.0, -0.5, -1.0])    # xy - y/2 - 1
    pts = cc.conic_intersections(ell, hyp)
    assert float(pts.imag.abs().max()) < 1e-12
    x = pts.real[:, 0]
    # on the hyperbola y = 1 / (x - 1/2); on the ellipse then x^2 + 4 / (x - 1/2)^2 - x - 4 = 0
    assert float((x**2 + 4 / (x - 0.5) ** 2 - x - 4).abs().max()) < 1e-9
    assert torch.allclose(pts.real[:, 1], 1 / (x - 0.5), atol=1e-12)


def test_action_matrix_structure():
    A, _ = cc.conic_action_matrix(*_random_conics(0))
    # x * x = x and x * 1 = x: rows of b's entries x and 1 hold a single 1 (x*x = x^2 is eliminated, x*1 = x is b)
    assert cc.BASIS_NAMES == ["y^2", "x", "y", "1"]
    assert torch.equal(A[3], torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    assert cc.MONOMIAL_NAMES[:6] == ["x^3", "x^2y", "xy^2", "y^3", "x^2", "xy"]


def test_two_circles_are_refused():
    c1 = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, -4.0])
    c2 = torch.tensor([1.0, 0.0, 1.0, -2.0, 0.0, -1.0])
    A, ok = cc.conic_action_matrix(c1, c2)
    assert not ok and torch.equal(A, torch.zeros(4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="singular"):
        cc.conic_intersections(c1, c2)
    with pytest.raises(ValueError, match="6 coefficients"):
        cc.conic_action_matrix(c1[:5], c2)


def test_heatmaps_figure_labels_and_masks_zeros():
    m = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, -1e-3]])
    fig = matrix_heatmaps_figure([(m, "left", ["r1", "r2"], ["a", "b", "c"]), (np.eye(2), "right", ["1", "2"], ["1", "2"])])
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["left", "right"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    shown = axes[0].images[0].get_array()
    assert bool(shown.mask[0, 0]) and bool(shown.mask[1, 1]) and not bool(shown.mask[0, 1])
