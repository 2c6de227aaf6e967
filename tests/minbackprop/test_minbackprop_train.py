"""Training the outlier filter through five_point: it learns, it keeps score, it refuses bad setups."""

from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from mbp_teach import data  # noqa: E402
from mbp_teach.minbackprop import plots, report, train  # noqa: E402
from mbp_teach.minbackprop.filter import OutlierFilter  # noqa: E402
from mbp_teach.minbackprop.ransac import estimate_pose  # noqa: E402

SHORT = train.Config(n_points=60, batch=4, n_sets=12, steps=25, eval_pairs=48, eval_hypotheses=12)


@pytest.fixture(autouse=True)
def float64_one_thread():
    old, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)  # small tensors: faster, as in train.compare
    yield
    torch.set_default_dtype(old)
    torch.set_num_threads(threads)


def mean_pose_error(net, config):
    errors = train.evaluate_filter(net, config)
    return float(torch.tensor(errors["pose"]).clamp_max(90.0).mean())


def test_short_run_improves_pose_error_over_untrained_network():
    torch.manual_seed(0)
    untrained = OutlierFilter(SHORT.width, SHORT.blocks).double()
    run, net = train.train(SHORT, "ift", seed=0)
    assert run.stable and len(run.loss) == SHORT.steps
    assert len(run.backward_seconds) == SHORT.steps and all(t > 0 for t in run.solver_seconds)
    before, after = mean_pose_error(untrained, SHORT), mean_pose_error(net, SHORT)
    assert after < 0.7 * before
    # the training signal itself went down: mean hypothesis error, first vs last 5 steps
    assert sum(run.loss[-5:]) < sum(run.loss[:5])


def test_training_is_reproducible_for_a_seed():
    config = replace(SHORT, steps=3, eval_pairs=8)
    a, _ = train.train(config, "autograd", seed=4)
    b, _ = train.train(config, "autograd", seed=4)
    assert a.loss == b.loss and a.errors == b.errors


def test_non_finite_gradient_marks_the_run_unstable(monkeypatch):
    real = train.five_point

    def poisoned(x1, x2, backward="autograd"):
        E, valid = real(x1, x2, backward=backward)
        return E + torch.sqrt((x1 - x1.detach()).sum()) * 0.0, valid  # value unchanged, gradient NaN

    monkeypatch.setattr(train, "five_point", poisoned)
    run, _ = train.train(replace(SHORT, steps=4), "autograd", seed=0)
    assert not run.stable and run.failed_at == 0 and run.failure == "non-finite gradient"
    assert run.errors == {}  # no accuracy is claimed for an unstable run


def test_bad_configurations_give_clear_errors():
    with pytest.raises(ValueError, match="too few correspondences"):
        train.train(replace(SHORT, n_points=6), "ift")
    with pytest.raises(ValueError, match="all-outlier"):
        train.train(replace(SHORT, outliers=(0.5, 1.0)), "ift")
    with pytest.raises(ValueError, match="all-outlier"):
        train.train(replace(SHORT, n_points=20, outliers=(0.0, 0.8)), "ift")
    with pytest.raises(ValueError, match="backward"):
        train.train(SHORT, "magic")
    with pytest.raises(ValueError, match="steps"):
        train.train(replace(SHORT, steps=0), "ift")
    scene = data.two_view(4, (2,), seed=0)
    with pytest.raises(ValueError, match="too few correspondences"):
        estimate_pose(scene.x1, scene.x2)


def test_a_method_is_a_backward_and_a_null_space():
    assert train.as_method("ift") == train.Method("ift", "qr") and train.Method("ift").label == "ift"
    assert train.Method("autograd", "gram_svd").label == "autograd (gram svd null space)"
    for bad, match in ((train.Method("autograd", "lu"), "null_space"), (train.Method("magic", "svd"), "backward"),
                       ("autograd/gram_svd", "backward"), (("autograd", "svd"), "method")):
        with pytest.raises(ValueError, match=match):
            train.as_method(bad)
    config = replace(SHORT, n_points=40, batch=2, n_sets=6, steps=2, eval_pairs=4, eval_hypotheses=4)
    run, _ = train.train(config, "autograd", seed=0, null_space="svd")
    assert run.stable and len(run.loss) == 2 and run.method == train.Method("autograd", "svd")
    result = train.compare(config, [train.Method("autograd", "gram_svd"), "autograd"], (0,))
    assert [r["method"] for r in report.rows(result)[:2]] == ["learned, autograd (gram svd null space)",
                                                               "learned, autograd"]


def test_report_table_has_every_backward_and_the_baseline():
    config = replace(SHORT, steps=2, eval_pairs=8)
    result = train.compare(config, ("autograd", "ift"), (0, 1))
    table = report.markdown(result)
    assert "learned, autograd | 2/2" in table and "learned, ift | 2/2" in table
    assert "no learning (uniform sampling)" in table
    assert "ms/step" not in report.markdown(result, timings=False)
    rows = report.rows(result)
    assert 0.0 <= rows[-1]["auc20"] <= 1.0
    plots.training_figure(result)
    plots.accuracy_figure(result)


# --- the gradient ablation: score function only / pathwise only / both ---

TINY = replace(SHORT, n_points=40, batch=2, n_sets=6, steps=3, eval_pairs=6, eval_hypotheses=4)


def parameters(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def initial_parameters(config, seed):
    torch.manual_seed(seed)
    return parameters(OutlierFilter(config.width, config.blocks).double())


def step_gradient(gradient, seed=0, null_space="qr"):
    """The parameter gradient of the first training step with the given terms."""
    torch.manual_seed(seed)
    net = OutlierFilter(TINY.width, TINY.blocks).double()
    scene = train.scene_batch(TINY, TINY.batch, torch.Generator().manual_seed(seed))
    loss, _ = train.step_loss(net, scene, TINY, train.Method("autograd", null_space),
                              torch.Generator().manual_seed(seed + 1), gradient=gradient)
    if not loss.requires_grad:
        return torch.zeros_like(parameters(net))
    grads = torch.autograd.grad(loss, list(net.parameters()), allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                      for g, p in zip(grads, net.parameters(), strict=True)])


def test_both_is_the_sum_of_score_function_and_pathwise_terms():
    score, path, both = (step_gradient(g) for g in train.GRADIENTS)
    assert score.norm() > 0 and path.norm() > 0
    assert float((both - score - path).norm()) <= 1e-9 * float(both.norm())


def test_pathwise_only_with_a_zero_pathwise_gradient_leaves_the_weights_unchanged(monkeypatch):
    real = train.five_point

    def gradient_free(x1, x2, backward="autograd"):
        E, valid = real(x1.detach(), x2.detach(), backward=backward)
        return E + 0.0 * (x1.sum() + x2.sum()), valid  # same value, in the graph, pathwise gradient exactly 0

    monkeypatch.setattr(train, "five_point", gradient_free)
    run, net = train.train(TINY, "autograd", seed=3, gradient="pathwise", evaluate_after=False)
    assert run.stable and torch.equal(parameters(net), initial_parameters(TINY, 3))
    # the score function alone moves them, from the same start
    run, net = train.train(TINY, "autograd", seed=3, gradient="score", evaluate_after=False)
    assert not torch.equal(parameters(net), initial_parameters(TINY, 3))


def test_score_function_only_never_calls_the_solvers_backward(monkeypatch):
    real = train.five_point
    calls = {"forward": 0, "backward": 0, "inputs_need_grad": 0}

    class Counted(torch.autograd.Function):
        @staticmethod
        def forward(ctx, E):
            return E.clone()

        @staticmethod
        def backward(ctx, grad):
            calls["backward"] += 1
            return grad

    def counted(x1, x2, backward="autograd"):
        calls["forward"] += 1
        calls["inputs_need_grad"] += int(x1.requires_grad or x2.requires_grad)
        E, valid = real(x1, x2, backward=backward)
        return Counted.apply(E), valid

    monkeypatch.setattr(train, "five_point", counted)
    run, net = train.train(TINY, "ift", seed=1, gradient="score", evaluate_after=False)
    assert run.stable and calls == {"forward": TINY.steps, "backward": 0, "inputs_need_grad": 0}
    assert not torch.equal(parameters(net), initial_parameters(TINY, 1))
    train.train(TINY, "ift", seed=1, gradient="both", evaluate_after=False)  # and the control: called each step
    assert calls["backward"] == TINY.steps and calls["inputs_need_grad"] == TINY.steps


def test_unknown_gradient_choice_is_refused():
    with pytest.raises(ValueError, match="gradient"):
        train.train(TINY, "ift", gradient="reinforce")
    with pytest.raises(ValueError, match="gradient"):
        train.ablation(TINY, (0,), gradients=("score", "none"))


def test_budget_curve_at_the_training_budget_is_the_plain_evaluation():
    torch.manual_seed(0)
    net = OutlierFilter(TINY.width, TINY.blocks).double()
    for model in (net, None):
        plain = train.evaluate_filter(model, TINY)["pose"]
        # the largest budget's draws are the plain evaluation's; a smaller budget keeps a prefix of them
        curve = train.evaluate_filter_budgets(model, TINY, (TINY.eval_hypotheses, 1, 2))
        assert sorted(curve) == [1, 2, TINY.eval_hypotheses]
        assert torch.allclose(torch.tensor(curve[TINY.eval_hypotheses]), torch.tensor(plain), equal_nan=True)
    with pytest.raises(ValueError, match="budgets"):
        train.evaluate_filter_budgets(None, TINY, (0, 4))


def test_ablation_report_and_figure_survive_a_json_round_trip():
    import json

    result = json.loads(json.dumps(train.ablation(TINY, (0, 1), budgets=(1, 4))))
    assert [r["gradient"] for r in result["runs"]] == ["score"] * 2 + ["pathwise"] * 2 + ["both"] * 2
    rows = report.ablation_rows(result)
    assert [r["gradient"] for r in rows] == ["score", "pathwise", "both", None]
    assert all(r["min"] <= r["median"] <= r["max"] for r in rows)
    table = report.ablation_markdown(result)
    assert "score function only | 2/2" in table and "uniform sampling" in table
    assert "| 4 |" in report.budget_markdown(result)
    assert set(report.budget_aucs(result, "both")) == {1, 4} and len(report.budget_aucs(result, "both")[4]) == 2
    fig = plots.budget_figure(result, needed=(26, 1893))
    ax = fig.axes[0]
    assert "hypotheses" in ax.get_xlabel() and "AUC@10°" in ax.get_ylabel()
