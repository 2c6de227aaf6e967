"""AdaptiveMomentum: the rule dw_{k+1} = -eta g_k + tau_k dw_k, its bound, its records; violations()."""

import math

import numpy as np
import pytest
import torch

from mbp_teach.momentum.adaptive import AdaptiveMomentum, demo_problem, tau_sweep, train_full_batch, violations


def test_momentum_term_never_exceeds_tau_times_gradient():
    net, x, y = demo_problem(seed=3)
    run = train_full_batch(net, x, y, eta=0.1, tau=0.3, steps=60)
    assert run.momentum_norm[0] == 0.0 and run.tau_k[0] == 0.0  # dw_0 = 0
    assert np.all(run.momentum_norm <= 0.3 * run.grad_norm * (1 + 1e-12))
    assert np.allclose(run.momentum_norm[1:], 0.3 * run.grad_norm[1:], rtol=1e-9)
    assert len(run.error) == 61 and len(run.grad_norm) == len(run.tau_k) == 60


def test_update_rule_by_hand():
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, 3.0], dtype=torch.float64)
    opt = AdaptiveMomentum([w], eta=0.1, tau=0.5)

    def closure():
        opt.zero_grad()
        e = 0.5 * (a * w**2).sum()
        e.backward()
        return e

    w_prev = w.detach().clone()
    g0 = (a * w_prev).clone()
    opt.step(closure)
    dw1 = -0.1 * g0
    assert torch.allclose(w.detach(), w_prev + dw1)
    g1 = a * w.detach()
    tau1 = 0.5 * float(g1.norm()) / float(dw1.norm())
    expected = w.detach() + (-0.1 * g1 + tau1 * dw1)
    opt.step(closure)
    assert torch.allclose(w.detach(), expected)
    assert opt.history["tau_k"][1] == pytest.approx(tau1)
    assert opt.history["error"][0] == pytest.approx(float(0.5 * (a * w_prev**2).sum()))


def test_small_tau_decreases_error_monotonically_large_tau_does_not():
    sweep = tau_sweep([0.0, 0.05, 0.5], seeds=[0, 1], steps=120)
    assert (sweep["count"][:, :2] == 0).all()
    assert (sweep["count"][:, 2] > 0).all()


def test_tau_sweep_statistics_over_seeds_and_their_margins():
    taus, seeds = [0.0, 0.2, 0.5], [0, 1, 2]
    sweep = tau_sweep(taus, seeds, steps=40)
    for k in ("count", "first", "first_rise", "max_rise", "final"):
        assert sweep[k].shape == (3, 3)
    for k in ("seeds_violating", "first_median", "count_median", "count_min", "count_max"):
        assert sweep[k].shape == (3,)
    hit = sweep["first"] >= 0
    assert (hit == (sweep["count"] > 0)).all()
    assert list(sweep["seeds_violating"]) == list(hit.sum(axis=0))
    assert sweep["seeds_violating"][0] == 0 and np.isnan(sweep["first_median"][0])
    assert sweep["seeds_violating"][2] == 3 and sweep["first_median"][2] == np.median(sweep["first"][:, 2])
    assert (sweep["count_min"] <= sweep["count_median"]).all() and (sweep["count_median"] <= sweep["count_max"]).all()
    assert sweep["count_median"][2] == np.median(sweep["count"][:, 2])
    # the sign of max_rise says whether the run was monotone; its size is the margin from a violation
    assert ((sweep["max_rise"] > 0) == hit).all()
    assert (sweep["first_rise"][hit] > 0).all() and (sweep["first_rise"][~hit] == 0).all()
    assert (sweep["max_rise"][hit] >= sweep["first_rise"][hit]).all()


@pytest.mark.parametrize("taus, seeds, match", [([], [0], "taus"), ([-0.1], [0], "taus"), ([float("nan")], [0], "taus"),
                                                ([0.1], [], "seeds")])
def test_tau_sweep_rejects_bad_input(taus, seeds, match):
    with pytest.raises(ValueError, match=match):
        tau_sweep(taus, seeds, steps=5)


def test_step_needs_a_closure_and_valid_settings():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="closure"):
        AdaptiveMomentum([w], eta=0.1, tau=0.1).step()
    with pytest.raises(ValueError, match="eta"):
        AdaptiveMomentum([w], eta=0.0, tau=0.1)
    with pytest.raises(ValueError, match="tau"):
        AdaptiveMomentum([w], eta=0.1, tau=-1.0)


def test_violations():
    assert list(violations([3.0, 2.0, 2.5, 1.0, 1.0 + 1e-15])) == [1]
    assert list(violations([1.0, 2.0, math.inf, 4.0])) == [0, 1]
    with pytest.raises(ValueError, match="error"):
        violations([1.0])


def test_param_groups_cover_every_parameter_once():
    from mbp_teach.momentum.adaptive import param_groups

    net, _, _ = demo_problem(seed=0)
    params = list(net.parameters())
    for by, n_groups in (("global", 1), ("node", len(net.sizes) - 1), ("tensor", len(params))):
        groups = param_groups(net, by)
        assert len(groups) == n_groups
        ids = [id(p) for g in groups for p in g["params"]]
        assert sorted(ids) == sorted(id(p) for p in params)
    with pytest.raises(ValueError, match="by"):
        param_groups(net, "layer-ish")


def test_per_group_coefficient_gives_each_group_momentum_tau_times_its_gradient():
    """Per group l, ||tau_k^l dw_k^l|| = tau ||g_k^l||, so the total is still tau ||g_k||; a global tau_k
    scales every group's previous step by the same number instead."""
    from mbp_teach.momentum.adaptive import param_groups

    net, x, y = demo_problem(seed=2)
    opt = AdaptiveMomentum(param_groups(net, "tensor"), eta=0.1, tau=0.3)

    def closure():
        opt.zero_grad()
        e = 0.5 * ((net(x) - y) ** 2).sum(-1).mean()
        e.backward()
        return e

    for _ in range(3):
        before = [opt.state[p]["dw"].clone() if "dw" in opt.state[p] else torch.zeros_like(p) for p in net.parameters()]
        opt.step(closure)
    grads = [p.grad.clone() for p in net.parameters()]
    for p, dw_prev, g in zip(net.parameters(), before, grads, strict=True):
        momentum = opt.state[p]["dw"] + 0.1 * g  # dw_{k+1} + eta g_k = tau_k^l dw_k^l
        assert float(momentum.norm()) == pytest.approx(0.3 * float(g.norm()), rel=1e-9)
        assert float(dw_prev.norm()) > 0
    total = math.sqrt(sum(float(g.norm()) ** 2 for g in grads))
    assert opt.history["momentum_norm"][-1] == pytest.approx(0.3 * total, rel=1e-9)


def test_granularity_does_not_matter_below_the_threshold_and_does_past_it():
    net_a, x, y = demo_problem(seed=1)
    net_b, _, _ = demo_problem(seed=1)
    a = train_full_batch(net_a, x, y, 0.1, 0.05, 60, by="global").error
    b = train_full_batch(net_b, x, y, 0.1, 0.05, 60, by="tensor").error
    assert np.allclose(a, b, rtol=0.05)  # small tau: the momentum term is small either way
    net_a, x, y = demo_problem(seed=1)
    net_b, _, _ = demo_problem(seed=1)
    a = train_full_batch(net_a, x, y, 0.1, 0.3, 40, by="global").error
    b = train_full_batch(net_b, x, y, 0.1, 0.3, 40, by="tensor").error
    assert not np.allclose(a[-1], b[-1], rtol=0.5)


def test_train_methods_share_initial_error_and_gd_is_adaptive_with_tau_zero():
    from mbp_teach.momentum.adaptive import compare_methods, train

    runs = compare_methods({"gd": ("gd", 0.0), "hb": ("heavy_ball", 0.5), "ad": ("adaptive", 0.1)},
                           seeds=[0, 1], eta=0.1, steps=30)
    assert all(r.shape == (2, 31) for r in runs.values())
    assert np.array_equal(runs["gd"][:, 0], runs["hb"][:, 0]) and np.array_equal(runs["gd"][:, 0], runs["ad"][:, 0])
    net, x, y = demo_problem(seed=0)
    assert np.array_equal(runs["gd"][0], train_full_batch(net, x, y, 0.1, 0.0, 30).error)
    # heavy ball by hand: dw_{k+1} = -eta g_k + beta dw_k on E = 1/2 (a w)^2
    w = torch.tensor([[2.0]], dtype=torch.float64)
    lin = torch.nn.Linear(1, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    e = train(lin, w, torch.zeros(1, 1, dtype=torch.float64), "heavy_ball", 0.1, 3, 0.5)
    v, dw, errs = 1.0, 0.0, []
    for _ in range(4):
        errs.append(0.5 * (2.0 * v) ** 2)
        dw = -0.1 * (4.0 * v) + 0.5 * dw
        v += dw
    assert np.allclose(e, errs)


def test_train_refuses_bad_input():
    from mbp_teach.momentum.adaptive import train

    net, x, y = demo_problem(seed=0)
    with pytest.raises(ValueError, match="method"):
        train(net, x, y, "nesterov", 0.1, 5)
    with pytest.raises(ValueError, match="beta"):
        train(net, x, y, "heavy_ball", 0.1, 5, coefficient=1.0)
    with pytest.raises(ValueError, match="steps"):
        train(net, x, y, "heavy_ball", 0.1, 0, coefficient=0.5)
