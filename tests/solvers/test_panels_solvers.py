"""The two-view panel headless: sliders re-solve, artists get finite data, RANSAC beats 8-point on outliers."""

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mbp_teach.solvers.panels import METHODS, TwoViewPanel  # noqa: E402


@pytest.fixture(scope="module")
def panel():
    return TwoViewPanel(n=60, iterations=60)


def finite_artists(p):
    for line in p.ax_img.lines:
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        if line.get_gid() == "nan-breaks":  # several segments in one line: every third point is the NaN break
            assert np.isnan(x[2::3]).all() and np.isnan(y[2::3]).all()
            x, y = np.delete(x, np.s_[2::3]), np.delete(y, np.s_[2::3])
            assert len(x) == 2 * p.lines
        assert np.isfinite(x).all() and np.isfinite(y).all()
    assert all(np.isfinite(b.get_height()) and b.get_height() > 0 for b in p.bars)


def test_slider_extremes_redraw(panel):
    c = panel.controls
    for noise, out in itertools.product((c["noise"].min, c["noise"].max), (c["outliers"].min, c["outliers"].max)):
        ok = panel.update(noise=noise, outliers=out, iterations=c["iterations"].min)
        assert ok or "RANSAC" in panel.message.value  # a refused setting is a visible message
        finite_artists(panel)
        panel.fig.canvas.draw()


def test_noise_free_inliers_solve_exactly(panel):
    assert panel.update(noise=0.0, outliers=0.0, iterations=20)
    assert all(panel.errors[m] < 1e-8 for m in METHODS)
    assert panel.errors["true inliers found"] == panel.errors["true inliers"] == 60
    heights = [b.get_height() for b in panel.bars]
    assert heights == [pytest.approx(1e-3)] * 3  # drawn at the floor
    assert "8-point on all points" in panel.message.value


def test_ransac_beats_eight_point_on_outliers(panel):
    assert panel.update(noise=0.5, outliers=0.3, iterations=100)
    e = panel.errors
    assert e[METHODS[2]] < 1.0 < 5.0 < e[METHODS[0]]  # pixels
    assert e["true inliers found"] >= 0.9 * e["true inliers"]
    # the bars show the numbers of the message
    assert panel.bars[0].get_height() == pytest.approx(e[METHODS[0]])
    assert f"{e[METHODS[0]]:.3g} px" in panel.message.value


def test_moving_a_widget_fires_update(panel):
    panel.widget()
    panel.update(outliers=0.0, noise=0.0)
    panel.controls["outliers"].value = 0.3
    assert panel.errors[METHODS[0]] > 1.0


def test_bad_construction():
    with pytest.raises(ValueError, match="n:"):
        TwoViewPanel(n=5)


def test_hypothesis_stream_is_ransac_with_budget_k_in_any_order_of_moves():
    import torch

    from mbp_teach import data
    from mbp_teach.solvers.panels import HypothesisStream
    from mbp_teach.solvers.ransac import ransac_essential

    scene = data.two_view(80, noise=0.5, outlier_fraction=0.4, seed=3)
    stream = HypothesisStream(scene.x1, scene.x2, 2e-3, k_max=200, seed=0)
    for k in (30, 5, 120, 60, 200, 10):  # up, down, up: later moves reuse what earlier ones solved
        got, want = stream.result(k), ransac_essential(scene.x1, scene.x2, iterations=k, threshold=2e-3, seed=0)
        assert torch.equal(got.inlier, want.inlier) and torch.equal(got.E, want.E) and torch.equal(got.refit, want.refit)
        assert got.hypotheses == want.hypotheses
    assert stream.solved == 200
    with pytest.raises(ValueError, match="k: need"):
        stream.result(201)
