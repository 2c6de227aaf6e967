"""The figures of notebook 04, drawn from small inputs: one line per component, curve or beta."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mbp_teach.momentum import plots  # noqa: E402


def test_eigen_components_figure_splits_the_loss_per_eigenvalue():
    lam = np.array([0.1, 0.5, 1.0])
    traj = np.ones((11, 3)) * 0.9 ** np.arange(11)[:, None]
    fig = plots.eigen_components_figure(lam, {"a": traj, "b": traj / 2})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_lines()) == lam.size + 1  # one per component and the sum
        total = ax.get_lines()[-1].get_ydata()
        assert np.allclose(sum(line.get_ydata() for line in ax.get_lines()[:-1]), total)
    assert np.isclose(fig.axes[0].get_lines()[-1].get_ydata()[0], 1.0)  # relative to f(w_0)


def test_transient_figure_draws_each_curve_and_rho_k():
    ks = np.arange(5)
    fig = plots.transient_figure(ks, {"one": np.ones(5), "two": 2 * np.ones(5)}, 0.5, "t")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 + 1  # two curves, rho^k, the level 1
    assert np.allclose(lines[2].get_ydata(), 0.5 ** ks)


def test_noise_floor_figure_has_theory_and_spread_per_panel():
    betas = np.array([0.0, 0.5])
    entry = (np.array([1.0, 2.0]), np.array([1.1, 1.9]), np.array([[0.9, 1.7], [1.2, 2.2]]))
    fig = plots.noise_floor_figure(betas, {"x": entry, "y": entry})
    assert len(fig.axes) == 2
    assert np.allclose(fig.axes[0].get_lines()[0].get_ydata(), entry[0])
    assert len(fig.axes[1].containers) == 1  # the error bars
