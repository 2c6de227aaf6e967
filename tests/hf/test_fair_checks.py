"""`python -m mbp_teach.experiments hf_fair --checks`: HF's damping sweep and the long deep-net runs, on a tiny budget."""

import json

import numpy as np
import pytest

from mbp_teach.experiments import hf_fair


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """One problem (the deep digits net), three dampings, budgets of a few passes, figures in tmp_path."""
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    full = hf_fair.problems(False)
    monkeypatch.setattr(hf_fair, "problems", lambda quick: {hf_fair.LONG_PROBLEM: full[hf_fair.LONG_PROBLEM]})
    monkeypatch.setattr(hf_fair, "LONG_PASSES", 6.0)
    main = {"config": {"settings": {"Adam": [{"lr": 0.003}, {"lr": 0.01}]}},
            "problems": {hf_fair.LONG_PROBLEM: {"methods": {"Adam": {"chosen": 1}}}}}
    (tmp_path / "06_fair.json").write_text(json.dumps(main))
    return tmp_path


@pytest.mark.parametrize("dampings", [(0.1, 1.0, 10.0), (1.0,)])
def test_checks_store_the_sweep_and_the_long_runs(tiny, monkeypatch, dampings):
    monkeypatch.setattr(hf_fair, "CHECK_DAMPINGS", dampings)
    assert hf_fair.checks([0, 1], passes=3.0) == 0
    out = json.loads((tiny / "06_fair_checks.json").read_text())
    assert out["dampings"] == list(dampings) and out["seeds"] == [0, 1] and out["budget_passes"] == 3.0
    finals = out["damping"][hf_fair.LONG_PROBLEM]
    assert len(finals) == len(dampings) and all(len(row) == 2 for row in finals)
    labels = list(out["long"]["runs"])
    assert "HF, λ0 = 1" in labels and "Adam, lr = 0.01" in labels  # Adam with the learning rate the table chose
    best = dampings[int(np.argmin(np.median(finals, axis=1)))]  # chosen as fair.sweep chooses
    assert f"HF, λ0 = {best:g}" in labels
    assert len(labels) == len(set(labels)) == (2 if best == 1.0 else 3)  # the best damping may be 1 itself
    for runs in out["long"]["runs"].values():
        assert len(runs) == 2 and all(r["passes"][-1] >= 6.0 for r in runs)  # each ran to the long budget
