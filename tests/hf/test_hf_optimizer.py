"""Curvature products against dense matrices; HessianFree on a quadratic and on Rosenbrock; bad settings."""

import pytest
import torch
from hf_threads import one_thread  # noqa: F401  (autouse fixture)
from torch import nn

from mbp_teach.hf import HessianFree, ModuleObjective, sum_squared_error
from mbp_teach.hf.curvature import dense
from mbp_teach.hf.curves import autoencoder, curve_images
from mbp_teach.hf.optimizer import Damping, LineSearch, Preconditioning, Sampling, Solve, from_keywords
from mbp_teach.hf.problems import quadratic_objective, rosenbrock_objective


def small_problem(loss=sum_squared_error):
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(), nn.Linear(4, 2, dtype=torch.float64))
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    t = torch.randn(7, 2, generator=g, dtype=torch.float64)
    return ModuleObjective(model, loss, x, t)


def test_gauss_newton_matches_dense_jacobian_formula():
    obj = small_problem()
    theta = obj.get_params()
    G = dense(obj.gauss_newton(theta), obj.dim)
    J = torch.autograd.functional.jacobian(lambda th: obj.outputs(th, obj.inputs).reshape(-1), theta)
    H_L = torch.autograd.functional.hessian(lambda z: sum_squared_error(z.view(7, 2), obj.targets), obj.outputs(
        theta, obj.inputs).reshape(-1).detach())
    assert torch.allclose(G, J.T @ H_L @ J, atol=1e-12)
    assert torch.allclose(G, G.T, atol=1e-12) and float(torch.linalg.eigvalsh(G).min()) > -1e-12


def test_gauss_newton_with_cross_entropy_loss():
    def ce(z, t):
        return nn.functional.cross_entropy(z, t.argmax(dim=1))

    obj = small_problem(ce)
    theta = obj.get_params()
    G = dense(obj.gauss_newton(theta), obj.dim)
    J = torch.autograd.functional.jacobian(lambda th: obj.outputs(th, obj.inputs).reshape(-1), theta)
    z = obj.outputs(theta, obj.inputs).detach()
    H_L = torch.autograd.functional.hessian(lambda zz: ce(zz.view(7, 2), obj.targets), z.reshape(-1))
    assert torch.allclose(G, J.T @ H_L @ J, atol=1e-12)


def test_hessian_product_matches_dense_hessian():
    obj = small_problem()
    theta = obj.get_params()
    H = torch.autograd.functional.hessian(lambda th: obj.loss_fn(obj.outputs(th, obj.inputs), obj.targets), theta)
    assert torch.allclose(dense(obj.hessian(theta), obj.dim), H, atol=1e-12)
    assert float(torch.linalg.eigvalsh(H).min()) < 0  # the exact Hessian of a tanh net is indefinite here


def test_squared_gradient_sum_is_per_example():
    obj = small_problem()
    theta = obj.get_params()
    per = torch.stack([obj.loss_and_grad(theta, torch.tensor([i]))[1] for i in range(obj.n)])
    assert torch.allclose(obj.squared_gradient_sum(theta), (per**2).mean(0), atol=1e-14)


def quadratic(seed=0):
    g = torch.Generator().manual_seed(seed)
    L = torch.randn(30, 10, generator=g, dtype=torch.float64) @ torch.diag(torch.logspace(0, 2, 10, dtype=torch.float64))
    c = torch.randn(30, generator=g, dtype=torch.float64)
    return quadratic_objective(L, c), torch.linalg.lstsq(L, c).solution


def test_one_damped_newton_step_on_a_convex_quadratic():
    obj, best = quadratic()
    opt = HessianFree(obj.model.parameters(), damping=Damping(1e-9),
                      solve=Solve(max_cg=50, warm_start=0.0, martens_stop=False))
    opt.step(obj)
    assert opt.log[0].step_size == 1.0 and opt.log[0].cg_stop == "converged"
    assert float((obj.get_params() - best).norm()) <= 1e-6 * float(best.norm())


def test_damped_step_solves_the_damped_system():
    obj, _ = quadratic(1)
    lam = 50.0
    theta0 = obj.get_params()
    _, g = obj.loss_and_grad(theta0)
    G = dense(obj.gauss_newton(theta0), obj.dim)
    expected = torch.linalg.solve(G + lam * torch.eye(obj.dim), -g)
    opt = HessianFree(obj.model.parameters(), damping=Damping(lam), solve=Solve(max_cg=50, martens_stop=False, backtrack=False))
    opt.step(obj)
    assert torch.allclose(obj.get_params() - theta0, opt.log[0].step_size * expected, atol=1e-9)
    assert opt.log[0].rho > 0.75 and opt.damping == pytest.approx(lam * 2 / 3)  # a quadratic model of a quadratic


def test_rosenbrock_from_standard_start():
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters(), damping=Damping(1.0))
    for _ in range(60):
        opt.step(obj)
        if obj.loss(obj.get_params()) < 1e-20:
            break
    assert float((obj.get_params() - torch.tensor([1.0, 1.0], dtype=torch.float64)).norm()) <= 1e-8
    assert len(opt.log) < 60


@pytest.mark.parametrize("pre", ["none", "diagonal", "lbfgs"])
def test_autoencoder_loss_decreases_with_each_preconditioner(pre):
    x = curve_images(60, side=6, seed=0)
    model = autoencoder((36, 12, 4), seed=0)
    obj = ModuleObjective(model, sum_squared_error, x, x)
    opt = HessianFree(model.parameters(), preconditioning=Preconditioning(pre), solve=Solve(max_cg=30))
    start = obj.loss(obj.get_params())
    for _ in range(4):
        opt.step(obj)
    assert obj.loss(obj.get_params()) < 0.8 * start
    assert all(0 < r.cg_iters <= 30 for r in opt.log)


def test_sample_growth_schedule():
    obj = ModuleObjective(autoencoder((16, 4), seed=0), sum_squared_error, *(2 * [curve_images(100, side=4)]))
    opt = HessianFree(obj.model.parameters(), sampling=Sampling(start=0.1, growth=2.0, curvature_fraction=0.5),
                      solve=Solve(max_cg=5))
    for _ in range(5):
        opt.step(obj)
    assert [r.samples for r in opt.log] == [10, 20, 40, 80, 100]
    assert [r.curvature_samples for r in opt.log] == [5, 10, 20, 40, 50]


@pytest.mark.parametrize("setting, word", [
    (dict(damping=-1.0), "damping"), (dict(memory=0, preconditioner="lbfgs"), "memory"),
    (dict(sample_growth=0.9), "sample_growth"), (dict(sample_start=0.0), "sample_start"),
    (dict(max_cg=0), "max_cg"), (dict(curvature="fisher"), "curvature"), (dict(preconditioner="ilu"), "preconditioner"),
    (dict(curvature_fraction=1.5), "curvature_fraction"), (dict(damping=float("nan")), "damping"),
])
def test_bad_settings_are_clear_errors(setting, word):
    obj = rosenbrock_objective()
    with pytest.raises(ValueError, match=word):
        HessianFree(obj.model.parameters(), **from_keywords(**setting))


def test_objective_must_own_the_parameters():
    a, b = rosenbrock_objective(), rosenbrock_objective()
    opt = HessianFree(a.model.parameters())
    with pytest.raises(ValueError, match="parameters"):
        opt.step(b)


def test_bad_data():
    model = autoencoder((4, 2))
    with pytest.raises(ValueError, match="rows"):
        ModuleObjective(model, sum_squared_error, torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        ModuleObjective(model, sum_squared_error, torch.full((3, 4), float("nan")), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="sizes"):
        autoencoder((4,))


# -- issue 14, item 7: damping 0, the line search's last loss, NaN -----------------------------------------

def test_damping_zero_recovers_when_the_model_is_bad():
    obj = rosenbrock_objective()  # from (-1.2, 1) the undamped Gauss-Newton step overshoots: rho = -96
    opt = HessianFree(obj.model.parameters(), damping=Damping(0.0), solve=Solve(max_cg=2))
    opt.step(obj)
    assert opt.log[0].rho < 0.25 and opt.log[0].damping == 0.0
    assert opt.damping == pytest.approx(opt.damping_rule.floor) and opt.damping > 0  # not 1.5 * 0 = 0 for ever
    for _ in range(4):
        opt.step(obj)
    assert opt.damping > 1e-6  # keeps growing (3/2 per bad step) while rho stays below 1/4


def test_increase_never_below_the_floor_and_bad_floor_refused():
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters(), damping=Damping(1e-9, floor=1e-3), solve=Solve(max_cg=2))
    opt.step(obj)
    assert opt.log[0].rho < 0.25 and opt.damping == pytest.approx(1e-3)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="damping_floor"):
            Damping(floor=bad)


@pytest.mark.parametrize("max_shrinks, accepted", [(10, True), (9, False)])
def test_line_search_tests_every_loss_it_evaluates_and_counts_only_those(max_shrinks, accepted):
    # from (-1.2, 1) with lambda = 1e-4 Armijo first holds at t = 0.8^10 (10 shrinks)
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters(), damping=Damping(1e-4), solve=Solve(max_cg=2, backtrack=False),
                      line_search=LineSearch(max_shrinks=max_shrinks))
    opt.step(obj)
    log = opt.log[0]
    assert log.step_size == (pytest.approx(0.8**10) if accepted else 0.0)
    # one gradient, 2 Gauss-Newton products, the loss at t = 1 and one loss per shrink (1 example = all data)
    assert log.cg_iters == 2
    assert log.passes == pytest.approx(1.0 + 2 * 4 / 3 + (1 + max_shrinks) / 3, rel=1e-12)


def test_nan_loss_or_gradient_is_a_clear_error():
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters())
    obj.set_params(torch.tensor([float("nan"), 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN or infinite"):
        opt.step(obj)


# -- issue 14, item 10: class-index targets ------------------------------------------------------------------

def labelled_problem():
    g = torch.Generator().manual_seed(3)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(), nn.Linear(4, 3, dtype=torch.float64))
    x = torch.randn(9, 3, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (9,), generator=g)
    return ModuleObjective(model, nn.functional.cross_entropy, x, labels), labels


def test_cross_entropy_with_integer_labels_gauss_newton_matches_dense():
    obj, labels = labelled_problem()
    assert obj.targets.dtype == torch.int64
    theta = obj.get_params()
    G = dense(obj.gauss_newton(theta), obj.dim)
    J = torch.autograd.functional.jacobian(lambda th: obj.outputs(th, obj.inputs).reshape(-1), theta)
    z = obj.outputs(theta, obj.inputs).detach()
    H_L = torch.autograd.functional.hessian(lambda zz: nn.functional.cross_entropy(zz.view(9, 3), labels),
                                            z.reshape(-1))
    # softmax cross-entropy: H_L = blockdiag(diag(p_i) - p_i p_i^T) / N, independent of the labels
    p = torch.softmax(z, dim=1)
    assert torch.allclose(H_L, torch.block_diag(*[torch.diag(q) - torch.outer(q, q) for q in p]) / 9, atol=1e-14)
    assert torch.allclose(G, J.T @ H_L @ J, atol=1e-12)
    _, grad = obj.loss_and_grad(theta)
    assert torch.allclose(grad, J.T @ torch.autograd.functional.jacobian(
        lambda zz: nn.functional.cross_entropy(zz.view(9, 3), labels), z.reshape(-1)), atol=1e-12)
    assert obj.squared_gradient_sum(theta).shape == (obj.dim,)


def test_hf_trains_a_classifier_on_integer_labels():
    obj, _ = labelled_problem()
    opt = HessianFree(obj.model.parameters(), damping=Damping(1e-2), solve=Solve(max_cg=20),
                      preconditioning=Preconditioning("diagonal"), sampling=Sampling(start=0.5, growth=1.5))
    start = obj.loss(obj.get_params())
    for _ in range(10):
        opt.step(obj)
    assert obj.loss(obj.get_params()) < 0.5 * start  # 1.11 -> 0.31


def test_targets_the_loss_refuses_are_a_clear_error():
    obj, labels = labelled_problem()
    with pytest.raises(ValueError, match="loss: cannot be evaluated"):
        ModuleObjective(obj.model, nn.functional.cross_entropy, obj.inputs, labels + 5)  # class 5+ of 3 outputs
    with pytest.raises(ValueError, match="real dtype"):
        ModuleObjective(obj.model, nn.functional.cross_entropy, obj.inputs, labels.to(torch.complex128))
    with pytest.raises(ValueError, match="rows"):
        ModuleObjective(obj.model, nn.functional.cross_entropy, obj.inputs, labels[:4])


# -- issue 17: settings in five named groups; the pieces of one step ------------------------------------------

def test_flat_keywords_become_groups_and_unknown_ones_are_refused():
    groups = from_keywords(damping=1e-2, max_cg=40, preconditioner="lbfgs", memory=5, sample_start=0.5, seed=3)
    assert groups == dict(damping=Damping(1e-2), solve=Solve(max_cg=40), preconditioning=Preconditioning("lbfgs", 5),
                          sampling=Sampling(start=0.5, seed=3))
    with pytest.raises(ValueError, match="max_gc"):
        from_keywords(max_gc=3)


def test_a_group_must_be_a_group():
    obj = rosenbrock_objective()
    with pytest.raises(ValueError, match="Damping"):
        HessianFree(obj.model.parameters(), damping=1.0)
    with pytest.raises(ValueError, match="Solve"):
        HessianFree(obj.model.parameters(), solve=dict(max_cg=2))


def test_run_hf_flat_keywords_and_groups_give_the_same_run():
    from mbp_teach.hf.compare import curves_autoencoder_objective, run_hf

    flat = run_hf("a", curves_autoencoder_objective(30), None, 2, max_cg=5, damping=0.5, sample_start=0.5)
    grouped = run_hf("b", curves_autoencoder_objective(30), None, 2, solve=Solve(max_cg=5), damping=Damping(0.5),
                     sampling=Sampling(start=0.5))
    assert flat.loss == grouped.loss and flat.cg_iters == grouped.cg_iters and flat.samples == [15, 15]
    with pytest.raises(ValueError, match="both"):
        run_hf("c", curves_autoencoder_objective(30), None, 1, solve=Solve(max_cg=5), max_cg=3)


def test_levenberg_marquardt_rule_and_ratio():
    from mbp_teach.hf.optimizer import levenberg_marquardt, reduction_ratio

    d = Damping(1.0, minimum=0.1, floor=1e-3)
    assert levenberg_marquardt(2.0, 0.1, d) == pytest.approx(3.0)
    assert levenberg_marquardt(0.0, 0.1, d) == pytest.approx(1e-3)  # the floor
    assert levenberg_marquardt(2.0, 0.9, d) == pytest.approx(4 / 3)
    assert levenberg_marquardt(0.12, 0.9, d) == pytest.approx(0.1)  # the minimum
    assert levenberg_marquardt(2.0, 0.5, d) == 2.0
    assert reduction_ratio(0.5, 1.0, -1.0) == pytest.approx(0.5)
    assert reduction_ratio(0.5, 1.0, 0.0) == -float("inf") and reduction_ratio(float("nan"), 1.0, -1.0) == -float("inf")


def test_armijo_condition():
    from mbp_teach.hf.optimizer import armijo_holds

    assert armijo_holds(0.98, 1.0, 1.0, -1.0, 1e-2) and not armijo_holds(0.995, 1.0, 1.0, -1.0, 1e-2)
    assert not armijo_holds(float("inf"), 1.0, 1.0, -1.0, 1e-2)


def test_one_warm_started_cg_iteration_is_not_a_gradient_step():
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters(), solve=Solve(max_cg=1))
    opt.step(obj)
    x0 = 0.95 * opt.previous
    theta = obj.get_params()
    _, g = obj.loss_and_grad(theta)
    B = dense(obj.gauss_newton(theta), 2) + opt.damping * torch.eye(2, dtype=torch.float64)
    opt.step(obj)
    # one CG iteration from x0: d = x0 + alpha r0, r0 = -g - B x0, alpha = r0^T r0 / r0^T B r0
    r0 = -g - B @ x0
    expected = x0 + float(r0 @ r0) / float(r0 @ B @ r0) * r0
    assert torch.allclose(opt.previous, expected, rtol=1e-10, atol=1e-14)
    cos = float(opt.previous @ -g) / float(opt.previous.norm() * g.norm())
    assert cos < 0.9  # 0.80: not a multiple of -g


def test_one_cg_anatomy_warm_start_is_momentum_cold_start_is_a_gradient_step():
    from mbp_teach.hf.problems import one_cg_anatomy

    warm = one_cg_anatomy(1.0, 5)
    cold = one_cg_anatomy(1.0, 5, warm_start=0.0)
    assert all(r["identity_error"] < 1e-12 for r in warm + cold)  # d_k = w (I - alpha B) d_{k-1} - alpha g
    assert all(abs(r["cos_gradient"] - 1) < 1e-12 for r in cold)
    assert warm[0]["cos_gradient"] == pytest.approx(1.0) and warm[1]["cos_gradient"] < 0.85 and warm[4]["cos_gradient"] < 0.5
    with pytest.raises(ValueError, match="steps"):
        one_cg_anatomy(1.0, 0)


def test_cost_to_minimum_counts_passes():
    from mbp_teach.hf.problems import cost_to_minimum

    cost = cost_to_minimum()
    hf, lbfgs = cost["Hessian-free"], cost["L-BFGS"]
    assert hf["reached"] == lbfgs["reached"] == 1.0
    # per HF iteration: a gradient (1) + two products (8/3) + at least one loss (1/3) = at least 4 passes
    assert hf["passes"] >= 4 * hf["iterations"] and lbfgs["passes"] >= lbfgs["iterations"]
    assert cost_to_minimum(steps=3)["Hessian-free"]["reached"] == 0.0
