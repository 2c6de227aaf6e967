"""Notebook 05's tau panel headless: extremes redraw finite data, moves are look-ups of the runs a move would train."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mbp_teach.momentum.dag_panels import TauPanel  # noqa: E402


def finite_lines(fig):
    for ax in fig.axes:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            assert np.isfinite(x).all() and np.isfinite(y).all(), f"non-finite data in {line}"


def test_tau_panel_extremes_and_messages():
    p = TauPanel(steps=40)
    assert p.update(tau=0.0) and "decreases at every one" in p.message.value
    assert "sufficient condition holds" in p.message.value
    assert len(p.found) == 0
    assert p.update(tau=p.controls["tau"].max)
    assert len(p.found) > 0 and ("first increase" in p.message.value or "blew up" in p.message.value)
    assert "outside the sufficient condition" in p.message.value
    finite_lines(p.fig)
    p.fig.canvas.draw()
    # the dashed line is the momentum length, tau * ||g|| after the first step
    g, m = p.gn.get_data()[1], p.mn.get_data()[1]
    assert np.allclose(m[1:], p.controls["tau"].value * g[1:], rtol=1e-9)


def test_moves_are_lookups_of_the_same_runs_a_move_would_train():
    p = TauPanel(steps=20)
    assert len(p._runs) == 13 * 4  # every (tau, eta) position of the two sliders
    p.update(tau=0.35, eta=0.15)
    fresh = p.train(0.35, 0.15)
    assert p.run is p._runs[(0.35, 0.15)]
    assert np.array_equal(p.run.error, fresh.error) and np.array_equal(p.run.grad_norm, fresh.grad_norm)
    p.update(tau=0.351)  # off the grid (code, not the slider): snapped like a browser would show it
    assert p.controls["tau"].value == 0.35


def test_the_eta_slider_moves_the_threshold():
    """The first tau at which E increases within the run grows with eta (Exercise 1: tau < eta suffices)."""
    p = TauPanel(steps=40)

    def threshold(eta):
        for tau in p.grid("tau"):
            p.update(tau=tau, eta=eta)
            if len(p.found):
                return tau
        return np.inf

    low, high = threshold(0.05), threshold(0.2)
    assert low < high
    assert low >= 0.05 - 1e-12  # below tau = eta no run of the grid increases E
