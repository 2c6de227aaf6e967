"""Equal-budget runners: where they stop, what they count, how a curve is read at a budget, what a sweep picks."""

import math

import numpy as np
import pytest
import torch

from mbp_teach.hf import fair
from mbp_teach.hf.compare import run_hf
from mbp_teach.hf.digits_autoencoder import digits_autoencoder_objective


def tiny(seed=0):
    torch.set_default_dtype(torch.float64)
    return digits_autoencoder_objective(depth=1, code=3, n_train=40, n_test=5, seed=seed)[0]


def test_budget_validation_and_stopping_rule():
    with pytest.raises(ValueError, match="passes"):
        fair.Budget(0)
    with pytest.raises(ValueError, match="cpu"):
        fair.Budget(10, cpu=-1.0)
    b = fair.Budget(10, cpu=2.0)
    assert not b.spent(9.9, 1.9) and b.spent(10, 0) and b.spent(0, 2.0)
    assert not fair.Budget(10).spent(9.99, 1e9)


def test_hf_stops_at_the_first_iteration_past_the_budget_and_counts_as_run_hf_does():
    run = fair.hf_at_budget(tiny(), fair.Budget(15), damping=1.0, max_cg=5)
    assert run.passes[0] == 0 and run.passes[-2] < 15 <= run.passes[-1]
    assert run.loss[0] == pytest.approx(tiny().loss(tiny().get_params()))
    iters = len(run.loss) - 1
    plain = run_hf("HF", tiny(), None, iters, damping=1.0, max_cg=5)
    assert plain.passes == run.passes[1:] and plain.loss == run.loss[1:]
    # HessianFree's accounting: each iteration one gradient (1) and at least one GN product (4/3)
    assert all(b - a >= 1 + 4 / 3 - 1e-12 for a, b in zip(run.passes[:-1], run.passes[1:], strict=True))


def test_first_order_records_one_pass_per_epoch_and_lbfgs_one_per_closure_call():
    run = fair.first_order_at_budget(tiny(), "sgd", 0.1, fair.Budget(5), batch=10)
    assert run.passes == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(run.loss) == len(run.cpu) == 6 and run.cpu == sorted(run.cpu)
    obj = tiny()
    calls = []
    loss_fn = obj.loss_fn

    def counting(z, t):
        if z.shape[0] == obj.n and torch.is_grad_enabled():  # the closure's full-batch loss, not the records'
            calls.append(1)
        return loss_fn(z, t)

    obj.loss_fn = counting
    run = fair.first_order_at_budget(obj, "lbfgs", 1.0, fair.Budget(12))
    assert run.passes[-1] == len(calls) and run.passes[-2] < 12 <= run.passes[-1]


def test_bad_method_settings_are_refused():
    with pytest.raises(ValueError, match="kind"):
        fair.first_order_at_budget(tiny(), "rmsprop", 0.1, fair.Budget(1))
    with pytest.raises(ValueError, match="lr"):
        fair.first_order_at_budget(tiny(), "adam", -1.0, fair.Budget(1))
    with pytest.raises(ValueError, match="batch"):
        fair.first_order_at_budget(tiny(), "adam", 0.1, fair.Budget(1), batch=0)
    with pytest.raises(ValueError, match="method"):
        fair.sweep("Newton", tiny, [{}], [0], fair.Budget(1))


def test_loss_at_reads_the_last_record_within_the_budget():
    run = dict(loss=[5.0, 4.0, 3.0, 2.0], passes=[0.0, 1.5, 3.0, 4.5], cpu=[0.0, 0.1, 0.2, 0.3])
    assert fair.loss_at(run, "passes", 0.0) == 5.0
    assert fair.loss_at(run, "passes", 2.9) == 4.0
    assert fair.loss_at(run, "passes", 3.0) == 3.0
    assert fair.loss_at(run, "cpu", 0.25) == 3.0
    with pytest.raises(ValueError, match="before"):
        fair.loss_at(run, "passes", 10.0)
    with pytest.raises(ValueError, match="cost"):
        fair.loss_at(run, "wall", 1.0)
    diverged = dict(loss=[5.0, 4.0, math.inf], passes=[0.0, 1.0, 2.0], cpu=[0.0, 0.1, 0.2])
    assert fair.loss_at(diverged, "passes", 10.0) == math.inf
    assert fair.loss_at(diverged, "passes", 1.5) == 4.0


def test_sweep_picks_the_lowest_median():
    sw = fair.sweep("SGD + momentum", tiny, [dict(lr=1e-4), dict(lr=0.3), dict(lr=1e3)], [0, 1], fair.Budget(4))
    finals = sw.finals(4)
    assert finals.shape == (3, 2) and np.isfinite(finals).all()  # logistic outputs: a huge lr saturates them
    assert (finals[1] < finals[0]).all() and (finals[1] < finals[2]).all()
    assert sw.chosen == int(np.argmin(np.median(finals, axis=1))) == 1
    assert len(sw.extras) == 3 and sw.extras[0] == [{}, {}]


def test_run_record_is_plain_json_numbers():
    rec = fair.run_record(fair.first_order_at_budget(tiny(), "adam", 1e-2, fair.Budget(2)))
    assert set(rec) == {"loss", "passes", "cpu"} and all(isinstance(v, float) for v in rec["loss"])


def test_first_below_finds_when_a_curve_leaves_a_level():
    run = dict(loss=[5.0, 2.4, 2.3, 2.3, 1.0], passes=[0.0, 10.0, 20.0, 30.0, 40.0], cpu=[0, 1, 2, 3, 4])
    assert fair.first_below(run, 2.2) == 40.0
    assert fair.first_below(run, 2.2, "cpu") == 4
    assert fair.first_below(run, 0.5) == math.inf
    with pytest.raises(ValueError, match="cost"):
        fair.first_below(run, 1.0, "epochs")
