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
    for k, v in {**dict(seeds=1, steps=3, deep_seeds=1, deep_steps=3, etas="0.01,0.03", depth=3), **kw}.items():
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


def test_tiny_run_is_read_back_by_the_notebooks_loader(tmp_path, monkeypatch):
    from mbp_teach.momentum import skip
    from mbp_teach.momentum.dag_plots import deep_training_figure, reconstructions_figure

    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    assert dag_training.run(args()) == 0
    assert (tmp_path / "05_deep_training.png").is_file() and (tmp_path / "05_digits_full.png").is_file()
    result = skip.load_training_result()
    finals = skip.stored_final_errors(result)
    assert set(finals) == set(skip.VARIANTS) and all(f.shape == (1,) for f in finals.values())
    digits = result["digits"]
    assert digits["tau"] == pytest.approx(0.5 * digits["eta"])  # inside tau < eta by default
    assert set(digits["reconstructions"]) == set(skip.AUTOENCODERS)
    assert len(digits["test_images"]) == 8 and len(digits["test_images"][0]) == 64
    import torch
    reconstructions_figure(torch.tensor(digits["test_images"]), digits["reconstructions"])
    deep_training_figure(result["deep"], 3, 1)


def test_loader_refuses_missing_and_incomplete_results(tmp_path):
    from mbp_teach.momentum import skip

    with pytest.raises(ValueError, match="no stored result.*experiments dag_training"):
        skip.load_training_result(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        skip.load_training_result(broken)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"deep": {"plain": {"eta": 0.01, "curves": [[1.0, 0.5]]}}}))
    with pytest.raises(ValueError, match="incomplete") as err:
        skip.load_training_result(partial)
    message = str(err.value)
    assert "'residual, branch × 1'" in message and "diverged_everywhere" in message and "'digits'" in message


def test_a_variant_diverging_everywhere_is_marked_not_plotted(tmp_path, monkeypatch):
    from mbp_teach.momentum.dag_plots import deep_training_figure

    deep = {"good": {"eta": 0.01, "curves": [[1.0, 0.1], [1.0, 0.2]], "diverged_everywhere": False},
            "bad": {"eta": 0.01, "curves": [[1.0, 1e300]], "diverged_everywhere": True,
                    "diverged_seeds_per_eta": {"0.01": 1, "0.03": 1}}}
    fig = deep_training_figure(deep, 3, 2)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 10  # the overflowed run does not set the axis
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("bad: diverged at every η (0.01, 0.03)" in t for t in labels)
