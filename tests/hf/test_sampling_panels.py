"""Notebook 07's sampling lab headless: every slider position is precomputed, moves are lookups."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hf_threads import one_thread  # noqa: E402,F401  (autouse fixture)

from mbp_teach.hf import related  # noqa: E402
from mbp_teach.hf.compare import curves_autoencoder_objective, run_hf  # noqa: E402
from mbp_teach.hf.sampling_panels import SamplingLab  # noqa: E402
from mbp_teach.hf.stored import by_variant, speedups  # noqa: E402


def _record(run, **extra):
    return dict(name=run.name, loss=run.loss, passes=run.passes, cpu=run.cpu, wall=run.wall,
                cg_iters=run.cg_iters, samples=run.samples, **extra)


@pytest.fixture(scope="module")
def small_lab():
    """The experiment's lab file in miniature: 2 growths x 2 starts on 40 images, 3 iterations, and plain HF."""
    runs = []
    for a in (1.0, 2.0):
        for s in (0.05, 1.0):
            r = run_hf(f"{a},{s}", curves_autoencoder_objective(40), None, 3, max_cg=8, sample_growth=a, sample_start=s)
            runs.append(_record(r, growth=a, start=s))
    runs.append(_record(run_hf("plain HF", curves_autoencoder_objective(40), None, 3, max_cg=8), growth=None, start=None))
    return dict(n_train=40, iters=3, max_cg=8, runs=runs)


@pytest.fixture(scope="module")
def small_sweep():
    return related.memory_sweep((1, 20), related.related_systems(n=60, count=3, outliers=10), rtol=1e-4)


def test_sampling_lab_extremes(small_lab, small_sweep):
    lab = SamplingLab(sweep=small_sweep, lab=small_lab)
    assert lab.update(memory=1, growth=1.0, start=0.05)
    assert lab.run.samples == [2, 2, 2] and "still 2 of 40" in lab.message.value
    assert lab.update(memory=20, growth=2.0, start=1.0)
    assert lab.run.samples == [40, 40, 40] and "from iteration 1" in lab.message.value
    assert all(np.isfinite(lab.run.loss))
    x, y = lab.m_line.get_data()
    assert list(y) == list(small_sweep[20]) and len(x) == 3
    assert f"take {small_sweep[20][1:].sum()} CG iterations" in lab.message.value


def test_sampling_lab_moves_change_only_blitted_lines_on_fixed_axes(small_lab, small_sweep):
    lab = SamplingLab(sweep=small_sweep, lab=small_lab)
    limits = (lab.ax_m.get_xlim(), lab.ax_m.get_ylim(), lab.ax_s.get_xlim(), lab.ax_s.get_ylim())
    assert lab.update(growth=1.0, start=0.05, memory=1)
    assert limits == (lab.ax_m.get_xlim(), lab.ax_m.get_ylim(), lab.ax_s.get_xlim(), lab.ax_s.get_ylim())
    assert set(lab.blitter.artists) == {lab.m_line, lab.s_line}


def test_sampling_lab_refuses_a_sweep_without_plain_cg(small_lab):
    with pytest.raises(ValueError, match="sweep"):
        SamplingLab(sweep={20: np.array([3, 2])}, lab=small_lab)


def test_speedups_are_per_seed_ratios_against_plain_hf():
    def rec(name, seed, loss, passes, cg):
        return dict(name=name, seed=seed, loss=loss, passes=passes, cpu=passes, wall=passes, cg_iters=cg,
                    samples=[1] * len(loss))
    result = dict(target=1.0, runs=[rec("HF", 0, [2, 1], [10, 20], [4, 4]), rec("X", 0, [1], [5], [2]),
                                    rec("HF", 1, [1], [8], [3]), rec("X", 1, [3, 2], [1, 2], [1, 1])])
    assert set(by_variant(result)) == {"HF", "X"}
    passes = speedups(result, "passes")
    assert passes["X"][0] == 4.0 and np.isnan(passes["X"][1]) and list(passes["HF"]) == [1.0, 1.0]
    assert speedups(result, "cg_per_iter")["X"][0] == 0.5
