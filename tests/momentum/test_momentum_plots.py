"""The figures of notebook 05, drawn from small inputs: one curve per variant, seed or run."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mbp_teach.momentum import autoencoder as ae  # noqa: E402
from mbp_teach.momentum import dag_plots as plots  # noqa: E402


def test_violations_figure_has_a_dot_per_seed_a_median_and_the_final_error():
    taus = [0.0, 0.1, 0.2]
    sweep = {"count": np.array([[0, 1, 3], [0, 2, 4]]), "first": np.array([[-1, 5, 2], [-1, 7, 1]]),
             "final": np.array([[0.1, 0.05, np.inf], [0.2, 0.1, 3.0]])}
    fig = plots.violations_figure(taus, sweep, steps=10, eta=0.1)
    left, middle, right = fig.axes
    assert len(left.lines) == 2 + 1 and len(middle.lines) == 2
    assert np.isnan(middle.lines[0].get_ydata()[0])  # no violation: no dot
    assert middle.lines[0].get_ydata()[1] == 6  # step k + 1 is the first with a larger error
    assert len(right.lines) == 2 + 1 + 1  # seeds, median, the tau = 0 level
    assert np.isfinite(right.lines[0].get_ydata()).all()  # a blown-up run is drawn at the edge
    fig.canvas.draw()
    for ax in (left, middle):
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert all(float(t).is_integer() for t in ticks)


def test_curves_figure_median_and_band_per_method():
    curves = {"a": np.array([[1.0, 0.5, 0.2], [1.0, 0.6, np.inf]]), "b": np.array([[1.0, 0.9, 0.8], [1.0, 0.8, 0.7]])}
    fig = plots.curves_figure(curves, "E", "t")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 2
    assert ax.get_lines()[0].get_linestyle() != ax.get_lines()[1].get_linestyle()
    assert np.isfinite(ax.get_lines()[0].get_ydata()).all()
    assert ax.get_legend() is not None


def test_reconstructions_figure_tiles_inputs_and_each_net():
    x = ae.blob_images(5, seed=1)
    nets = {"DAG": ae.dag_autoencoder(), "chain": ae.sequential_autoencoder((32, 16, 16, 32))}
    fig = plots.reconstructions_figure(x, nets, n=4)
    assert fig.axes[0].get_images()[0].get_array().shape == (3 * ae.SIDE, 4 * ae.SIDE)


def test_skip_depth_figure_has_three_panels_of_every_variant():
    depths = [2, 4]
    names = ["plain", "residual"]
    corr = {n: np.array([[0.9, 0.5], [0.8, 0.4]]) for n in names}
    grads = {n: np.sin(np.linspace(0, 3, 5)) for n in names}
    norms = {n: np.array([1.0, 0.5, 0.2, 0.1]) for n in names}
    fig = plots.skip_depth_figure(depths, corr, grads, norms, np.linspace(-2, 2, 5))
    assert len(fig.axes) == 3
    assert [len(ax.get_lines()) for ax in fig.axes] == [len(names) + 1, len(names), len(names)]  # + the zero line
    assert all(ax.get_legend() is not None for ax in fig.axes)


def test_autoencoder_curves_figure_with_reconstructions():
    x = ae.blob_images(6, seed=1)
    results = [ae.Result(name, s, np.geomspace(1e-1, 1e-3, 5), 1e-3, 30.0, 3, 1e-2)
               for name in ("DAG", "chain") for s in (0, 1)]
    nets = {"DAG": ae.dag_autoencoder(), "chain": ae.sequential_autoencoder((32, 16, 16, 32))}
    fig = plots.autoencoder_curves_figure(results, 1e-2, x, nets)
    curves, images = fig.axes
    assert len(curves.get_lines()) == 2 * (2 + 1) + 1  # per architecture: the seeds and the median; the target
    assert images.get_images()[0].get_array().shape == (3 * ae.SIDE, 6 * ae.SIDE)
    assert len(plots.autoencoder_curves_figure(results, 1e-2).axes) == 1
