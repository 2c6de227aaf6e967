"""The figures of notebook 05, drawn from small inputs: one curve per variant, seed or run."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mbp_teach.momentum import autoencoder as ae  # noqa: E402
from mbp_teach.momentum import dag_plots as plots  # noqa: E402


def test_violations_figure_has_a_dot_per_seed_and_a_median():
    taus = [0.0, 0.1, 0.2]
    sweep = {"count": np.array([[0, 1, 3], [0, 2, 4]]), "first": np.array([[-1, 5, 2], [-1, 7, 1]])}
    fig = plots.violations_figure(taus, sweep, steps=10, eta=0.1)
    left, right = fig.axes
    assert len(left.lines) == 2 + 1 and len(right.lines) == 2
    assert np.isnan(right.lines[0].get_ydata()[0])  # no violation: no dot


def test_skip_depth_figure_has_three_panels_of_every_variant():
    depths = [2, 4]
    names = ["plain", "residual"]
    corr = {n: np.array([[0.9, 0.5], [0.8, 0.4]]) for n in names}
    grads = {n: np.sin(np.linspace(0, 3, 5)) for n in names}
    norms = {n: np.array([1.0, 0.5, 0.2, 0.1]) for n in names}
    fig = plots.skip_depth_figure(depths, corr, grads, norms, np.linspace(-2, 2, 5))
    assert len(fig.axes) == 3
    assert [len(ax.get_lines()) for ax in fig.axes] == [len(names) + 1, len(names), len(names)]  # + the zero line


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
