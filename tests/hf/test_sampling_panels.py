"""Notebook 07's sampling lab headless: every slider position is precomputed, moves are lookups."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from hf_threads import one_thread  # noqa: E402,F401  (autouse fixture)

from mbp_teach.hf.sampling_panels import SamplingLab  # noqa: E402


def test_sampling_lab_extremes():
    lab = SamplingLab(n_train=40, iters=3, max_cg=8)
    assert lab.update(memory=1, growth=1.0, start=0.02)
    assert lab.run.samples == [1, 1, 1] and "still 1 of 40" in lab.message.value
    assert lab.update(memory=60, growth=2.0, start=1.0)
    assert lab.run.samples == [40, 40, 40] and "full data from iteration 1" in lab.message.value
    assert all(np.isfinite(lab.run.loss))
