"""Notebook-02 panels headless: slider extremes redraw finite data, and the curves say what the text says."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mbp_teach.gradients import compare as gc  # noqa: E402
from mbp_teach.gradients import finite_diff as fd  # noqa: E402
from mbp_teach.gradients.panels import DegeneracyPanel, StepPanel, bench_cases, degeneracy_point  # noqa: E402


def finite_lines(fig):
    for ax in fig.axes:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            assert np.isfinite(x).all() and np.isfinite(y).all()


@pytest.fixture(scope="module")
def step():
    return StepPanel()


@pytest.fixture(scope="module")
def degeneracy():
    return DegeneracyPanel()


def test_step_panel_extremes_and_V_shape(step):
    c = step.controls["log10_h"]
    for v in (c.min, c.max, -4.0):
        assert step.update(log10_h=v)
        finite_lines(step.fig)
        step.fig.canvas.draw()
        assert "float32" in step.message.value and "float64" in step.message.value
    for name in ("float32", "float64"):
        h_best, e_best = step.best_step(name)
        assert step.error_at(name, 1e-14) > 100 * e_best and step.error_at(name, 1.0) > 100 * e_best
        assert abs(math.log10(h_best) - math.log10(fd.optimal_step(getattr(torch, name)))) < 1.5
    assert step.best_step("float64")[1] < 1e-9 < step.best_step("float32")[1]
    eps = {name: torch.finfo(getattr(torch, name)).eps for name in ("float32", "float64")}
    for name in eps:  # near h* the error is about eps^(2/3): the median, not a lucky cancellation
        assert 0.1 < step.typical_error(name) / eps[name] ** (2 / 3) < 100
    assert step.typical_error("float32") > 1e3 * step.typical_error("float64")
    with pytest.raises(ValueError, match="dtype"):
        step.typical_error("float16")
    with pytest.raises(ValueError, match="decades"):
        step.typical_error("float32", decades=1e-6)


def test_step_panel_refuses_out_of_range(step):
    assert step.update(log10_h=-20.0) and step.controls["log10_h"].value == -14.0  # the slider clamps
    with pytest.raises(ValueError, match="log10 h"):
        step._update(log10_h=3.0)


def test_degeneracy_panel_exact_repetition(degeneracy):
    assert degeneracy.update(log10_gap=-16.0)
    p = degeneracy.last
    # 1 + 1e-16 rounds to 1: the inputs repeat exactly, and LAPACK's last bits decide whether s1 == s2
    # bitwise (factor 1/0) or they differ by an ulp (factor ~1e14): both happen, depending on the CPU.
    assert abs(p["s1"] - p["s2"]) <= 4 * torch.finfo(torch.float64).eps * p["s1"]
    assert p["autograd_factor"] > 1e13 and p["ift_factor"] == pytest.approx(0.25)
    gc.expect_svd_backward_failure(not math.isfinite(p["autograd"]) or p["autograd"] > 1e-3,
                                   "autograd's error is NaN or > 1e-3 at exact repetition")
    assert p["ift"] < 1e-8 and p["fd"] < 1e-6
    assert degeneracy.inf_text.get_text() == ("1/0" if p["s1"] == p["s2"] else "")
    finite_lines(degeneracy.fig)
    degeneracy.fig.canvas.draw()


def test_degeneracy_panel_curves(degeneracy):
    t = degeneracy.table
    assert np.all(t["ift"] < 1e-8) and np.all(t["ift_nonfinite"] == 0)
    far = degeneracy.gaps > 1e-3
    assert np.all(t["autograd"][far] < 1e-8)
    near = degeneracy.gaps < 1e-13
    gc.expect_svd_backward_failure(bool(np.all(~np.isfinite(t["autograd"][near]) | (t["autograd"][near] > 1e-5))),
                                   "autograd's error is NaN or > 1e-5 at every gap below 1e-13")
    assert degeneracy.update(log10_gap=-1.0) and degeneracy.inf_text.get_text() == ""
    with pytest.raises(ValueError, match="log10 gap"):
        degeneracy._update(log10_gap=0.5)


def test_degeneracy_point_factor_grows_like_inverse_gap():
    a, b = degeneracy_point(1e-4), degeneracy_point(1e-6)
    assert b["autograd_factor"] / a["autograd_factor"] == pytest.approx(100, rel=1e-2)
    assert b["ift_factor"] == pytest.approx(a["ift_factor"], rel=1e-3)


def test_bench_cases():
    names = [c[0] for c in bench_cases()]
    assert names == ["step (02)", "degeneracy (02)"]


def test_step_panel_arms_predict_the_bottom(step):
    for name in ("float32", "float64"):
        h_opt, e_min = step.predicted_bottom(name)
        h_best, _ = step.best_step(name)
        assert abs(np.log10(h_best / h_opt)) <= 0.5
        assert 1 / 3 <= step.error_near(name, h_opt) / e_min <= 3
    with pytest.raises(ValueError, match="dtype"):
        step.predicted_bottom("float16")
