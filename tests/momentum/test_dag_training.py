"""The dag_training experiment end to end on a tiny configuration: it writes its JSON with every part's results."""

import argparse
import json

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from mbp_teach.experiments import dag_training  # noqa: E402


def args(**kw):
    parser = argparse.ArgumentParser()
    dag_training.add_arguments(parser)
    a = parser.parse_args([])
    for k, v in {**dict(seeds=1, steps=3, etas="0.01,0.03", depth=3), **kw}.items():
        setattr(a, k, v)
    return a


def test_tiny_run_writes_both_parts(tmp_path, monkeypatch):
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    assert dag_training.run(args()) == 0
    result = json.loads((tmp_path / "05_dag_training.json").read_text())
    assert set(result["deep"]) == {"plain", "residual, branch × 1", "residual, branch × 1/√depth"}
    for v in result["deep"].values():
        assert v["eta"] in (0.01, 0.03) and len(v["curves"]) == 1 and len(v["curves"][0]) == 4
    names = [r["name"] for r in result["digits"]["runs"]]
    assert names == ["DAG (skips)", "sequential"]
    assert all(len(r["train_mse"]) == 3 for r in result["digits"]["runs"])


def test_bad_parts_and_step_sizes_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    with pytest.raises(ValueError, match="parts"):
        dag_training.run(args(parts="deep,wide"))
    with pytest.raises(ValueError, match="etas"):
        dag_training.run(args(parts="deep", etas="-1"))


def test_tau_ratio_outside_tau_below_eta_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    with pytest.raises(ValueError, match="tau-ratio"):
        dag_training.run(args(parts="deep", tau_ratio=1.5))
