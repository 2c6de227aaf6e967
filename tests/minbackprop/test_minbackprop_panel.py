"""The toy lab headless: every control works, bad settings become messages."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mbp_teach.minbackprop.panels import ToyLab  # noqa: E402


@pytest.fixture(scope="module")
def lab():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield ToyLab()
    torch.set_default_dtype(old)


def test_default_setting_learns_the_outlier_away(lab):
    assert lab.update(toy="rotation", backward="ift", displacement=0.1, lr=0.1, steps=30)
    assert lab.history.stable and lab.history.loss[-1] < 0.01
    x, y = lab.weight_lines[0].get_data()
    assert len(x) == 31 and y[-1] < 0.01 * min(lab.history.weights[-1][1:])
    assert "outlier weight" in lab.message.value


@pytest.mark.parametrize("backward", ["autograd", "ift", "ddn"])
def test_each_backward_and_toy_redraws_finite_curves(lab, backward):
    for toy, lr in (("rotation", 0.1), ("fundamental", 3.0)):
        assert lab.update(toy=toy, backward=backward, lr=lr, displacement=0.1, steps=20), lab.last_error
        for line in lab.weight_lines + [lab.loss_line]:
            xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
            assert np.isfinite(xs).all() and np.isfinite(ys).all()
        lab.fig.canvas.draw()


def test_bad_settings_are_messages_not_tracebacks(lab):
    assert not lab.update(toy="rotation", backward="ift", displacement=0.0)
    assert "displacement" in lab.message.value and lab.alarm.get_text() == "refused"
    assert not lab.update(toy="fundamental", displacement=0.1, lr=10 ** 1.5, steps=30)
    assert "smaller lr" in lab.last_error
    assert lab.update(toy="rotation", lr=0.1, displacement=0.5, steps=1)  # slider extremes that are fine
    assert lab.update(displacement=0.01, steps=100)
    lab.fig.canvas.draw()


def test_rotation_ift_moves_are_lookups_that_follow_train_weights(lab):
    from mbp_teach.minbackprop import toys

    lr = 10 ** -0.7  # a slider position (min -3, step 0.1)
    assert lab.update(toy="rotation", backward="ift", displacement=0.23, lr=lr, steps=47)
    d, lr, steps = (lab.controls[k].value for k in ("displacement", "lr", "steps"))
    assert lab.reachable_run(d, lr, steps) is not None  # on the precomputed grid
    assert lab.reachable_run(d + 0.005, lr, steps) is None  # off it: trained on the move
    ref = toys.train_weights(toys.rotation_toy(d)[0], "ift", lr=lr, steps=steps)
    assert np.abs(np.array(lab.history.loss) - ref.loss).max() < 1e-9
    assert np.abs(np.array(lab.history.weights) - ref.weights).max() < 1e-12
    assert lab.update(toy="rotation", backward="autograd")  # other backwards still train through the solver
    assert np.abs(np.array(lab.history.weights) - ref.weights).max() < 1e-6


def test_weight_axis_limit_is_on_a_coarse_ladder():
    from mbp_teach.minbackprop.panels import nice_ceiling

    assert [nice_ceiling(x) for x in (0.11, 1e-3, 0.5, 0.51, 7.2, 9.0)] == pytest.approx([0.15, 1e-3, 0.5, 0.6, 8.0, 10.0])
    top = lab_top = None
    for x in np.linspace(0.101, 0.149, 20):  # weights whose maximum moves a little: the axis stays
        top = nice_ceiling(x)
        lab_top = top if lab_top is None else lab_top
        assert top == lab_top


def test_ablation_lab_toggles_the_gradient_and_the_seed():
    from mbp_teach.minbackprop import train
    from mbp_teach.minbackprop.panels import AblationLab

    torch.set_default_dtype(torch.float64)
    config = train.Config(n_points=40, batch=1, n_sets=4, steps=3, eval_pairs=6, eval_hypotheses=4)
    lab = AblationLab(train.ablation(config, (0, 1), budgets=(1, 4)))
    for gradient in ("score", "pathwise", "both"):
        assert lab.update(gradient=gradient, seed=1)
        assert lab.run["gradient"] == gradient and lab.run["seed"] == 1
        assert len(lab.error_line.get_data()[0]) == 3 and len(lab.run_line.get_data()[0]) == 2
        assert sum(len(line.get_data()[0]) > 0 for line in lab.other_lines) == 2
        assert "AUC@10" in lab.message.value
