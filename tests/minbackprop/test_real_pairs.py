"""The learned filter on the real stereo pair: ranking against the disparity labels, RANSAC runs at equal
budgets, the summary, the figure and table of the experiment, and the experiment itself on a tiny budget."""

import json
import math

import pytest
import torch

from mbp_teach.minbackprop import real_pair_plots, real_pairs
from mbp_teach.minbackprop.filter import OutlierFilter
from mbp_teach.solvers import stereo

IN, OUT, UNK = stereo.INLIER, stereo.OUTLIER, stereo.UNKNOWN


@pytest.fixture(scope="module")
def matches():
    return stereo.matches()


def test_ranking_counts_the_top_scored_labelled_matches():
    label = torch.tensor([IN, OUT, UNK, IN, OUT, IN])
    logits = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.0], dtype=torch.float64)
    r = real_pairs.ranking(logits, label, top_fraction=0.5)     # top 3: IN, OUT, UNK
    assert (r.top, r.labelled_in_top, r.inliers_in_top, r.inliers, r.labelled) == (3, 2, 1, 3, 5)
    assert r.precision == pytest.approx(0.5) and r.recall == pytest.approx(1 / 3)
    assert r.chance_precision == pytest.approx(3 / 5)
    perfect = real_pairs.ranking(torch.tensor([3.0, 0.0, 0.5, 2.0, 0.1, 1.0]), label, top_fraction=0.5)
    assert perfect.precision == 1.0 and perfect.recall == 1.0


def test_ranking_breaks_ties_by_index():
    label = torch.tensor([IN, OUT, IN, OUT])
    r = real_pairs.ranking(torch.zeros(4, dtype=torch.float64), label, top_fraction=0.5)
    assert (r.inliers_in_top, r.labelled_in_top) == (1, 2)


def test_perplexity_is_the_effective_number_of_matches():
    assert real_pairs.perplexity(torch.zeros(7)) == pytest.approx(7.0)
    assert real_pairs.perplexity(torch.tensor([0.0, -50.0, -50.0])) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("call", [
    lambda m: real_pairs.ranking(torch.zeros(3), torch.tensor([IN, OUT])),
    lambda m: real_pairs.ranking(torch.tensor([0.0, float("nan")]), torch.tensor([IN, OUT])),
    lambda m: real_pairs.ranking(torch.zeros(2), torch.tensor([IN, OUT]), top_fraction=0.0),
    lambda m: real_pairs.perplexity(torch.tensor([float("inf"), 0.0])),
    lambda m: real_pairs.pose_runs(m, None, 0, 2),
    lambda m: real_pairs.pose_runs(m, None, 2, 0),
    lambda m: real_pairs.pose_runs(m, torch.zeros(3), 2, 2),
    lambda m: real_pairs.pose_runs(m, None, 2, 2, threshold_px=-1.0),
    lambda m: real_pairs.summary({"rotation": [], "translation": []}),
])
def test_bad_input_is_refused_with_a_value_error(call, matches):
    with pytest.raises(ValueError):
        call(matches)


def test_uniform_ransac_recovers_the_pair_at_a_large_budget_and_seeds_repeat(matches):
    errs = real_pairs.pose_runs(matches, None, 64, 8, seed=3)
    assert errs["rotation"].shape == errs["translation"].shape == (8,)
    assert float(errs["rotation"].median()) < 2.0 and float(errs["translation"].median()) < 5.0
    again = real_pairs.pose_runs(matches, None, 64, 8, seed=3)
    assert torch.equal(errs["rotation"], again["rotation"])


def test_a_sampler_that_only_draws_inliers_beats_one_that_only_draws_outliers(matches):
    """The pose follows the sampling distribution: all mass on labelled inliers vs on labelled outliers."""
    on_inliers = torch.where(matches.inlier, 0.0, -30.0).double()
    on_outliers = torch.where(matches.outlier, 0.0, -30.0).double()
    good = real_pairs.summary(real_pairs.pose_runs(matches, on_inliers, 4, 10))
    bad = real_pairs.summary(real_pairs.pose_runs(matches, on_outliers, 4, 10))
    assert good["auc"] > 0.5 > bad["auc"]


def test_summary_medians_and_auc():
    s = real_pairs.summary({"rotation": [0.0, 1.0, 30.0], "translation": [0.0, 2.0, 1.0]}, threshold=10.0)
    assert s["rotation_median"] == 1.0 and s["translation_median"] == 1.0 and s["runs"] == 3
    assert s["auc"] == pytest.approx((1.0 + 0.8 + 0.0) / 3)


def test_filter_logits_and_budget_curve(matches):
    torch.manual_seed(0)
    net = OutlierFilter(8, 1).double()
    logits = real_pairs.filter_logits(net, matches)
    assert logits.shape == (len(matches),) and bool(torch.isfinite(logits).all())
    calls = []
    curve = real_pairs.budget_curve(matches, logits, (2, 1), runs=3, progress=lambda: calls.append(1))
    assert list(curve) == [1, 2] and len(calls) == 2 and len(curve[2]["rotation"]) == 3


def _fake_result():
    curve = {h: {"rotation": [0.5, 1.0, 20.0], "translation": [1.0, 2.0, 3.0]} for h in (1, 2)}
    filt = {"config": "short", "seed": 0, "precision": 0.9, "recall": 0.6, "perplexity": 100.0, "curve": curve}
    return {"budgets": [1, 2], "runs": 3, "filters": [filt], "uniform": [{"seed": 0, "curve": curve}]}


def test_figure_and_table_of_the_experiment():
    result = _fake_result()
    fig = real_pair_plots.budget_figure(result)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and len(ax.get_lines()) == 2
    assert {line.get_linestyle() for line in ax.get_lines()} == {"-", "--"}
    table = real_pair_plots.markdown(result)
    assert "| 1 |" in table and "0.90" in table and "notebook's short training" in table


def test_the_experiment_writes_its_json(tmp_path, monkeypatch):
    import argparse

    from mbp_teach.experiments import real_pairs as experiment

    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    parser = argparse.ArgumentParser()
    experiment.add_arguments(parser)
    args = parser.parse_args(["--seeds", "1", "--full-seeds", "0", "--runs", "2", "--max-budget", "2"])
    monkeypatch.setattr(experiment, "LIVE", experiment.LIVE.__class__(steps=2, batch=1))
    assert experiment.run(args) == 0
    result = json.loads((tmp_path / "03_real_pair.json").read_text())
    assert result["budgets"] == [1, 2] and len(result["filters"]) == 1 and len(result["uniform"]) == 1
    assert result["matches"]["n"] == result["matches"]["inliers"] + result["matches"]["outliers"] + \
        result["matches"]["unknown"]
    assert not math.isnan(result["filters"][0]["precision"])
    assert (tmp_path / "03_real_pair.png").is_file()
