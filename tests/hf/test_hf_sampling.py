"""Notebook 07's measurements: Gauss-Newton drift, sample-gradient variance, related systems, stored results."""

import numpy as np
import pytest
import torch
from hf_threads import one_thread  # noqa: F401  (autouse fixture)

from mbp_teach.hf import gn_drift, related, stored, variance
from mbp_teach.hf.compare import curves_autoencoder_objective, run_hf
from mbp_teach.hf.precond import LBFGS


def test_relative_change_is_zero_for_the_same_matrix_and_scales_with_a_perturbation():
    A = torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64))
    vs = gn_drift.probes(5, count=3)
    assert torch.allclose(vs.norm(dim=1), torch.ones(3, dtype=torch.float64))
    assert gn_drift.drifts([lambda v: A @ v, lambda v: A @ v], vs) == [0.0]
    # (1.1 A - A) v / (1.1 A v) = 0.1 / 1.1 for every probe
    assert gn_drift.drifts([lambda v: A @ v, lambda v: 1.1 * A @ v], vs)[0] == pytest.approx(0.1 / 1.1)
    with pytest.raises(ValueError, match="shape"):
        gn_drift.relative_change(torch.ones(2, 3), torch.ones(3, 2))
    with pytest.raises(ValueError, match="zero"):
        gn_drift.relative_change(torch.ones(1, 3), torch.zeros(1, 3))


def test_drift_probe_records_one_value_per_hf_iteration_and_sees_the_matrix_move():
    objective = curves_autoencoder_objective(30)
    probe = gn_drift.DriftProbe(objective, count=2)
    run = run_hf("HF", objective, None, 2, max_cg=5, progress=probe)
    assert len(probe.drift) == len(run.loss) == 2 and all(d > 0 for d in probe.drift)


def test_sample_gradient_error_formula_matches_random_samples():
    objective = curves_autoencoder_objective(50)
    per = variance.per_example_gradients(objective)
    _, g = objective.loss_and_grad(objective.get_params())
    assert per.shape == (50, objective.dim) and torch.allclose(per.mean(0), g)
    sizes = [2, 10, 25, 50]
    predicted = variance.predicted_error(per, sizes)
    measured = variance.measured_error(per, sizes, draws=400)
    assert predicted[-1] == 0.0 and measured[-1] == pytest.approx(0.0, abs=1e-20)
    assert predicted[0] > predicted[1] > predicted[2] > 0
    # 400 draws: the mean of a squared error is within ~20 % of its expectation
    assert np.allclose(measured[:3], predicted[:3], rtol=0.25)
    with pytest.raises(ValueError, match="sizes"):
        variance.predicted_error(per, [0])
    with pytest.raises(ValueError, match="sizes"):
        variance.measured_error(per, [51])


def test_related_systems_share_eigenvectors_and_memory_helps():
    systems = related.related_systems(n=60, count=3, outliers=10)
    (A0, _), (A1, _) = systems[:2]
    assert torch.allclose(A0 @ A1, A1 @ A0, atol=1e-6 * float(A0.norm() * A1.norm()))  # commuting: one eigenbasis
    sweep = related.memory_sweep((10,), systems, rtol=1e-6)
    assert sweep[0].shape == (3,) and sweep[10][0] == sweep[0][0]  # the first solve has no pairs yet
    assert sweep[10][1:].sum() < sweep[0][1:].sum()
    with pytest.raises(ValueError, match="outliers"):
        related.related_systems(n=10, outliers=10)
    with pytest.raises(ValueError, match="drift"):
        related.related_systems(drift=1.5)
    assert related.iterations(LBFGS(memory=3), systems[:1], rtol=1e-3).shape == (1,)


def test_stored_load_names_the_command_when_missing(tmp_path):
    with pytest.raises(ValueError, match="experiments hf_sampling"):
        stored.load("nothing", folder=tmp_path)
