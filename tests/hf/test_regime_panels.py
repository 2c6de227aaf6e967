"""The regimes panel, on a small stored-result dict of the shape experiments.hf_fair writes."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mbp_teach.hf.regime_panels import RegimePanel, digits_depths, load_result  # noqa: E402

METHODS = ("HF", "SGD + momentum", "Adam", "L-BFGS")


def fake_result(depths=(1, 3, 5), seeds=(0, 1, 2)):
    """Runs whose final losses order the methods differently at each depth (Adam best shallow, HF best deep)."""
    problems = {}
    for d in depths:
        methods = {}
        for k, m in enumerate(METHODS):
            end = 1.0 + (k if d == 1 else len(METHODS) - k) * 0.1 + 0.01 * d
            runs = [dict(loss=list(np.linspace(8.0, end + 0.01 * s, 11)), passes=list(np.linspace(0, 100, 11)),
                         cpu=list(np.linspace(0, 1, 11))) for s in seeds]
            methods[m] = dict(chosen=0, final=[[r["loss"][-1] for r in runs]], runs=runs, at_cpu=[0.0] * len(seeds),
                              extras=[{} for _ in seeds])
        curv = list(np.logspace(-(d - 1), 0, 2 * (d + 1)))
        problems[f"digits, depth {d}"] = dict(sizes=[64] + [32] * d + [4], methods=methods, cpu_budget=1.0,
                                              spectrum=[dict(layer_curvature=curv, ritz=[1.0], trace=1.0, dim=10)
                                                        for _ in seeds])
    problems["curves"] = dict(problems[f"digits, depth {depths[0]}"])
    return dict(config=dict(budget_passes=100, seeds=list(seeds), settings={m: [{}] for m in METHODS}),
                problems=problems)


def test_depths_are_read_from_the_problem_names():
    assert digits_depths(fake_result()) == {1: "digits, depth 1", 3: "digits, depth 3", 5: "digits, depth 5"}


def test_each_depth_shows_its_stored_runs_and_names_the_best_method():
    r = fake_result()
    p = RegimePanel(r)
    assert p.controls["depth"].step == 2 and p.controls["depth"].value == 5
    assert p.update(depth=1) and p.shown == "digits, depth 1"
    assert "lowest median training loss at 100 passes: HF" in p.message.value
    x, y = p.seeds["Adam"][2].get_data()
    assert np.array_equal(y, r["problems"]["digits, depth 1"]["methods"]["Adam"]["runs"][2]["loss"])
    assert p.update(depth=5) and "passes: L-BFGS" in p.message.value
    x, y = p.curv.get_data()
    assert len(x) == 12 and y[-1] / y[0] == pytest.approx(1e4)
    assert "1e+04" in p.message.value


def test_a_depth_without_stored_runs_is_refused_with_a_message():
    p = RegimePanel(fake_result(depths=(1, 2, 5)))
    assert not p.update(depth=3)
    assert "stored for depths [1, 2, 5]" in p.last_error


def test_moves_are_blitted():
    p = RegimePanel(fake_result())
    p.fig.canvas.draw()
    p.update(depth=3)
    assert p.redraw() == "blit"


def test_too_few_depths_or_no_file_are_refused(tmp_path):
    with pytest.raises(ValueError, match="two depths"):
        RegimePanel(fake_result(depths=(2,)))
    with pytest.raises(ValueError, match="no stored comparison"):
        load_result(tmp_path / "missing.json")
