"""Momentum panels headless: every slider extreme redraws finite data; divergence is a message."""

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mbp_teach.momentum import heavy_ball as mom  # noqa: E402
from mbp_teach.momentum.panels import MomentumLab  # noqa: E402


def finite_lines(fig):
    for ax in fig.axes:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            if line.get_gid() == "nan-breaks":  # several curves in one line: a NaN point separates them
                x, y = x[~(np.isnan(x) & np.isnan(y))], y[~(np.isnan(x) & np.isnan(y))]
            assert np.isfinite(x).all() and np.isfinite(y).all(), f"non-finite data in {line}"


@pytest.fixture(scope="module", params=[2, 20])
def lab(request):
    return MomentumLab(n=request.param, steps=60)


def test_extreme_sliders_never_raise(lab):
    c = lab.controls
    for a, b, k in itertools.product((c["alpha"].min, c["alpha"].max), (c["beta"].min, c["beta"].max),
                                     (c["kappa"].value * 0 + 1.0, 10 ** c["kappa"].max)):
        assert lab.update(alpha=a, beta=b, kappa=k)
        finite_lines(lab.fig)
        lab.fig.canvas.draw()
        diverges = mom.worst_rate(a, b, mom.spectrum(k, lab.n)) >= 1
        assert ("diverges" in lab.message.value) == diverges
        assert ("DIVERGES" in lab.alarm.get_text()) == diverges


def test_buttons_set_the_optimal_parameters(lab):
    lab.update(kappa=100.0, method="heavy ball")
    lab.buttons[1].click()
    alpha, beta, r = mom.optimal_momentum(0.01, 1.0)
    # the sliders hold the best grid point (step 0.001), within a few steps of the optimum, and its rate is the
    # optimum's to 1e-3 (rounding beta down instead would give 0.849)
    a, b = lab.controls["alpha"].value, lab.controls["beta"].value
    assert a == pytest.approx(alpha, abs=4e-3) and b == pytest.approx(beta, abs=4e-3)
    assert abs(mom.worst_rate(a, b, lab.lams(100.0)) - r) < 1e-3
    assert "rate 0.818" in lab.message.value
    lab.buttons[0].click()
    alpha, beta, r = mom.optimal_gd(0.01, 1.0)
    assert lab.controls["alpha"].value == pytest.approx(alpha, abs=5e-4) and lab.controls["beta"].value == 0.0


def test_loss_curve_follows_the_predicted_rate():
    lab = MomentumLab(n=2, steps=150)
    lab.update(kappa=30.0)
    lab.use_optimal_gd()
    _, rel, kept = lab.simulate(**lab.values())
    k = np.arange(kept)
    slope = np.polyfit(k[20:], np.log(rel[20:kept]), 1)[0]
    rho = mom.worst_rate(lab.controls["alpha"].value, 0.0, lab.lams(lab.controls["kappa"].value))
    assert np.exp(slope / 2) == pytest.approx(rho, rel=1e-3)
    x, y = lab.marks.get_data()
    assert np.allclose(x, lab.controls["alpha"].value * lab.lams(lab.controls["kappa"].value)) and np.allclose(y, 0.0)


def test_sliders_fire_update_through_the_widget():
    lab = MomentumLab(n=2, steps=40)
    lab.widget()
    lab.controls["beta"].value = 0.3
    assert np.allclose(lab.marks.get_data()[1], 0.3)


def test_bench_registry_lists_these_panels():
    from mbp_teach.bench import widgets

    names = [c[0] for c in widgets.cases()]
    assert any("momentum lab" in n for n in names) and any("τ" in n for n in names)
    rows = widgets.measure(*widgets.cases("2-D")[0][:2], {"beta": [0.1, 0.2]}, repeats=1)
    assert rows[0].control == "beta" and len(rows[0].times_ms) == 2 and rows[0].median > 0


def test_lab_box_has_the_buttons_and_a_still_picture():
    lab = MomentumLab()
    box = lab.widget()
    assert box.children[0].children == tuple(lab.buttons)
    assert "image/png" in box._repr_mimebundle_()


def test_lab_trajectory_is_heavy_ball_bit_for_bit():
    import torch

    from mbp_teach.momentum import heavy_ball as mom

    for n, (alpha, beta, kappa) in [(2, (3.306, 0.669, 100.0)), (50, (1.0, 0.6, 100.0)), (2, (4.0, 0.0, 1e4))]:
        lab = MomentumLab(n=n, steps=60)
        traj, rel, kept = lab.simulate(alpha, beta, kappa)
        lam = torch.from_numpy(lab.lams(kappa))
        ref = mom.heavy_ball(lambda w, lam=lam: lam * w, torch.ones(n, dtype=torch.float64), alpha, beta, 60)
        assert np.array_equal(traj, ref.numpy())
        loss = mom.quadratic_loss(ref, lam.numpy()).numpy()
        assert np.allclose(rel[:kept], (loss / loss[0])[:kept], rtol=1e-14, atol=0)


def test_restart_from_a_clicked_point():
    from types import SimpleNamespace

    lab = MomentumLab(n=2, steps=40, alpha=0.5, beta=0.3)
    assert lab.restart_from(-0.8, 0.4)
    x, y = lab.path.get_data()
    assert (x[0], y[0]) == (-0.8, 0.4)
    traj, _, _ = lab.simulate(**lab.values())
    assert np.array_equal(traj[:, 0], x) and np.array_equal(traj[:, 1], y)
    # a click on the trajectory axes calls restart_from; a click elsewhere does nothing
    lab._on_click(SimpleNamespace(inaxes=lab.ax_path, xdata=0.5, ydata=-1.0))
    assert tuple(lab.start) == (0.5, -1.0)
    lab._on_click(SimpleNamespace(inaxes=lab.ax_map, xdata=0.1, ydata=0.1))
    assert tuple(lab.start) == (0.5, -1.0)
    lab._on_click(SimpleNamespace(inaxes=lab.ax_path, xdata=0.0, ydata=0.0))
    assert "minimum" in lab.message.value and tuple(lab.start) == (0.5, -1.0)
    with pytest.raises(ValueError, match="x, y"):
        lab.restart_from(3.0, 0.0)


def test_noise_is_fixed_per_seed_and_floors_at_the_predicted_loss():
    from mbp_teach.momentum import noise

    lab = MomentumLab(n=2, steps=600, alpha=0.5, beta=0.5, kappa=10.0, sigma=0.05)
    _, rel1, _ = lab.simulate(**lab.values())
    _, rel2, _ = lab.simulate(**lab.values())
    assert np.array_equal(rel1, rel2)  # a move is deterministic
    level = lab.floor.get_data()[1][0]
    lam = lab.lams(lab.controls["kappa"].value)
    assert level == pytest.approx(noise.stationary_loss(0.5, 0.5, lam, 0.05) / (0.5 * lam.sum()))
    assert 0.3 * level < np.mean(rel1[300:]) < 3.0 * level  # one seed: the right order of magnitude
    lab.update(sigma=0.0)
    assert len(lab.floor.get_data()[0]) == 0


def test_nesterov_toggle_uses_its_own_rate_and_effective_momentum():
    from mbp_teach.momentum import nesterov as nag

    lab = MomentumLab(n=2, steps=150, alpha=0.5, beta=0.8, kappa=30.0, method="nesterov")
    lam = lab.lams(lab.controls["kappa"].value)  # 30 on the log slider's grid
    assert f"{nag.worst_rate(0.5, 0.8, lam):.4f}" in lab.rate_text.get_text()
    x, y = lab.marks.get_data()
    assert np.allclose(y, 0.8 * (1 - 0.5 * lam))
    traj, _, _ = lab.simulate(**lab.values())
    import torch

    ref = nag.nesterov(lambda w: torch.from_numpy(lam) * w, torch.ones(2, dtype=torch.float64), 0.5, 0.8, 150)
    assert np.allclose(traj, ref.numpy(), rtol=1e-12, atol=1e-15)
    lab.update(kappa=100.0)
    lab.use_optimal_momentum()
    assert nag.worst_rate(lab.controls["alpha"].value, lab.controls["beta"].value, lab.lams(100.0)) <= 0.9 + 1e-3
    with pytest.raises(ValueError, match="method"):
        MomentumLab(method="adam")
