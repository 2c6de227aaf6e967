"""The real stereo pair (scikit-image's motorcycle): loading, ORB matching, labels from the disparity,
normalised coordinates and the rectified pair's true geometry."""

import numpy as np
import pytest
import torch

from mbp_teach import solvers as S
from mbp_teach.solvers import stereo


@pytest.fixture(scope="module")
def matches():
    return stereo.matches()


def test_the_shipped_pair_loads_with_its_disparity():
    pair = stereo.load()
    assert pair.left.shape == pair.right.shape == (500, 741, 3) and pair.left.dtype == np.uint8
    assert pair.shape == (500, 741) and pair.disparity.dtype == np.float32
    known = np.isfinite(pair.disparity)
    assert 0.5 < known.mean() < 1.0                      # some pixels have no ground truth
    assert pair.disparity[known].min() > 0
    assert stereo.load() is pair                         # cached
    with pytest.raises(ValueError):
        pair.left[0, 0, 0] = 1                           # read-only, so the cache cannot be changed


def test_matching_is_deterministic_and_cached(matches):
    again = stereo.matches()
    assert torch.equal(again.u1, matches.u1) and torch.equal(again.u2, matches.u2)
    assert stereo._detect_and_match.cache_info().hits >= 1
    assert len(matches) >= 100 and matches.u1.shape == (len(matches), 2)
    assert int(matches.inlier.sum() + matches.outlier.sum() + matches.unknown.sum()) == len(matches)


def test_the_disparity_convention_is_x_right_equals_x_left_minus_d(matches):
    """Most labelled matches agree with u2 = u1 - d; with the opposite sign (u1 + d) almost none would."""
    pair = stereo.load()
    flipped = stereo.label_matches(matches.u1, matches.u2, -pair.disparity)
    known = ~matches.unknown
    assert matches.inlier[known].double().mean() > 0.5
    assert flipped[known].eq(stereo.INLIER).double().mean() < 0.05


def test_the_matches_keep_gross_outliers_and_inliers_lie_on_their_rows(matches):
    share = float(matches.outlier.sum() / (~matches.unknown).sum())
    assert 0.2 < share < 0.5                              # no ratio test: repeated texture leaves outliers
    rows = (matches.u2[:, 1] - matches.u1[:, 1]).abs()
    assert float(rows[matches.inlier].max()) <= stereo.LABEL_THRESHOLD_PX
    assert float(rows[matches.outlier].median()) > 10     # most outliers are far off their row


def test_label_matches_on_a_hand_made_map():
    disparity = np.full((10, 20), 5.0, dtype=np.float32)
    disparity[:, 15:] = np.nan                            # unknown there
    u1 = torch.tensor([[10.0, 4.0], [10.0, 4.0], [10.0, 4.0], [16.0, 2.0], [30.0, 2.0]])
    u2 = torch.tensor([[5.0, 4.0], [15.0, 4.0], [5.0, 8.0], [11.0, 2.0], [25.0, 2.0]])
    labels = stereo.label_matches(u1, u2, disparity, threshold_px=1.0)
    assert labels.tolist() == [stereo.INLIER, stereo.OUTLIER, stereo.OUTLIER, stereo.UNKNOWN, stereo.UNKNOWN]


@pytest.mark.parametrize("call", [
    lambda: stereo.label_matches(torch.zeros(3, 3), torch.zeros(3, 3), np.zeros((4, 4))),
    lambda: stereo.label_matches(torch.zeros(3, 2), torch.zeros(4, 2), np.zeros((4, 4))),
    lambda: stereo.label_matches(torch.zeros(3, 2), torch.zeros(3, 2), np.zeros(4)),
    lambda: stereo.label_matches(torch.zeros(3, 2), torch.zeros(3, 2), np.zeros((4, 4)), threshold_px=0.0),
    lambda: stereo.label_matches(torch.full((3, 2), float("nan")), torch.zeros(3, 2), np.zeros((4, 4))),
    lambda: stereo.normalise(torch.zeros(3, 3), torch.eye(3)),
    lambda: stereo.normalise(torch.zeros(3, 2), torch.zeros(3, 3)),
    lambda: stereo.matches(n_keypoints=3),
    lambda: stereo.matches(fast_threshold=0.0),
    lambda: stereo.pixel_fundamental(torch.zeros(2, 2)),
])
def test_bad_input_is_refused_with_a_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_normalised_coordinates_use_each_cameras_intrinsics(matches):
    K1, K2 = stereo.intrinsics()
    assert float(K2[0, 2] - K1[0, 2]) == pytest.approx(stereo.DX)
    back = torch.cat([matches.x2, torch.ones(len(matches), 1, dtype=torch.float64)], 1) @ K2.T
    assert torch.allclose(back[:, :2], matches.u2, atol=1e-9)


def test_the_true_geometry_of_the_rectified_pair(matches):
    E = stereo.true_essential()
    R, t = stereo.true_pose()
    assert torch.equal(R, torch.eye(3, dtype=torch.float64))
    # x2h^T E x1h = y1 - y2: zero when the rows agree, so the labelled inliers fit E to the label threshold
    err_px = S.sampson_distance(E, matches.x1, matches.x2).sqrt() * stereo.FOCAL
    assert float(err_px[matches.inlier].max()) <= stereo.LABEL_THRESHOLD_PX
    assert float(err_px[matches.outlier].median()) > 5.0
    direction = stereo.translation_direction(E)
    assert torch.allclose(direction.abs(), t.abs(), atol=1e-12)
    F = stereo.pixel_fundamental(E)                       # in pixels: again y1 - y2, up to scale
    assert torch.allclose(F.abs(), torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
                                                dtype=torch.float64) / 2**0.5, atol=1e-12)


def test_five_point_ransac_recovers_the_rectified_pose(matches):
    from mbp_teach.minbackprop.pose import pose_errors, pose_from_essential
    from mbp_teach.solvers import ransac

    res = ransac.ransac_essential(matches.x1, matches.x2, iterations=100, threshold=1.5 / stereo.FOCAL, seed=0)
    R, t = pose_from_essential(res.E, matches.x1, matches.x2, res.inlier)
    r_err, t_err = pose_errors(R, t, *stereo.true_pose())
    assert float(r_err) < 2.0 and float(t_err) < 5.0
    assert int((res.inlier & matches.inlier).sum()) >= 0.9 * int(matches.inlier.sum())


def test_the_figures_draw_on_the_photographs(matches):
    from mbp_teach.solvers import stereo_plots

    pair = stereo.load()
    fig = stereo_plots.matches_figure(pair, matches)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert {t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()} == {"inlier", "outlier", "unknown"}
    F = stereo.pixel_fundamental(stereo.true_essential())
    fig = stereo_plots.epipolar_figure(pair, matches.u1[matches.inlier], matches.u2[matches.inlier], F, k=4)
    solid = [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "-"]
    assert len(solid) == 4
    for line in solid:                                   # the true F's lines are rows: horizontal
        ys = line.get_ydata()
        assert abs(ys[0] - ys[-1]) < 1e-9
    with pytest.raises(ValueError):
        stereo_plots.epipolar_figure(pair, matches.u1[:0], matches.u2[:0], F)
