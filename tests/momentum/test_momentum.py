"""Heavy ball: rate = spectral radius matches simulation, optimal settings, conventions, regimes."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mbp_teach.momentum import heavy_ball as mom


def T(values):
    return torch.tensor(values, dtype=torch.float64)


def quad(lams):
    lam = torch.as_tensor(lams, dtype=torch.float64)
    return lambda w: lam * w


def test_rate_matches_simulated_convergence_on_a_grid():
    lams = np.array([0.05, 0.3, 1.0])
    worst = 0.0
    for alpha in np.linspace(0.1, 3.0, 5):
        for beta in np.linspace(0.0, 0.9, 5):
            theory = mom.rate(alpha, beta, lams)
            measured = mom.empirical_rate(alpha, beta, lams)
            keep = theory < 1.5  # fast divergence overflows float64 long before 3000 steps
            worst = max(worst, float(np.abs(measured - theory)[keep].max()))
    assert worst < 1e-3


def test_rate_is_the_spectral_radius_of_the_iteration_matrix():
    for alpha, beta, lam in [(0.3, 0.5, 2.0), (1.9, 0.0, 1.0), (0.01, 0.99, 0.5), (3.0, 0.2, 1.0)]:
        eig = torch.linalg.eigvals(mom.iteration_matrix(alpha, beta, lam))
        assert mom.rate(alpha, beta, lam) == pytest.approx(float(eig.abs().max()), rel=1e-7)


def test_iteration_matrix_reproduces_heavy_ball():
    alpha, beta, lam = 0.4, 0.7, 1.3
    traj = mom.heavy_ball(quad([lam]), T([1.0]), alpha, beta, 20)
    R = mom.iteration_matrix(alpha, beta, lam)
    state = T([0.0, 1.0])  # (z_0, w_0)
    for k in range(20):
        state = R @ state
        assert float(state[1]) == pytest.approx(float(traj[k + 1, 0]), rel=1e-12, abs=1e-14)


@settings(deadline=None, derandomize=True, max_examples=60)
@given(st.floats(0.01, 3.9), st.floats(0.0, 0.99))
def test_complex_eigenvalues_have_rate_sqrt_beta(al, beta):
    t = 1 + beta - al
    if t * t - 4 * beta < -1e-9:
        assert mom.rate(al, beta, 1.0) == pytest.approx(math.sqrt(beta), rel=1e-12)
        assert mom.regime(al, beta) == mom.RIPPLES


def test_convergence_region():
    assert mom.rate(1.0, 0.5, 2.999) < 1 < mom.rate(1.0, 0.5, 3.001)  # boundary alpha*lam = 2 + 2 beta
    assert mom.regime(3.01, 0.5) == mom.DIVERGENCE
    assert mom.regime(2.99, 0.5) != mom.DIVERGENCE


def test_optimal_momentum_matches_closed_form():
    lmin, lmax = 0.02, 3.0
    kappa = lmax / lmin
    alpha, beta, r = mom.optimal_momentum(lmin, lmax)
    assert alpha == pytest.approx(4 / (math.sqrt(lmin) + math.sqrt(lmax)) ** 2)
    assert beta == pytest.approx(((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2)
    assert r == pytest.approx(math.sqrt(beta))
    # both ends of the spectrum sit on the critical-damping curve and converge at rate sqrt(beta)
    assert mom.worst_rate(alpha, beta, [lmin, lmax]) == pytest.approx(r, rel=1e-6)


def test_optimal_settings_beat_their_neighbours():
    lmin, lmax = 0.01, 1.0
    for opt in (mom.optimal_gd, mom.optimal_momentum):
        alpha, beta, r = opt(lmin, lmax)
        assert mom.worst_rate(alpha, beta, [lmin, lmax]) == pytest.approx(r, rel=1e-6)
        for da in (0.97, 1.03):
            assert mom.worst_rate(alpha * da, beta, [lmin, lmax]) > r
        if opt is mom.optimal_momentum:
            for db in (-0.01, 0.01):
                assert mom.worst_rate(alpha, beta + db, [lmin, lmax]) > r
    assert mom.optimal_momentum(lmin, lmax)[2] < mom.optimal_gd(lmin, lmax)[2]


def test_conventions_agree_with_constant_lr_and_match_torch_sgd():
    g = quad([0.1, 1.0, 2.5])
    x0 = T([1.0, -2.0, 0.5])
    runs = {c: mom.heavy_ball(g, x0, 0.3, 0.8, 40, convention=c) for c in mom.CONVENTIONS}
    assert torch.allclose(runs["pytorch"], runs["sutskever"], atol=1e-12)
    assert torch.allclose(runs["pytorch"], runs["polyak"], atol=1e-12)
    w = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=0.3, momentum=0.8)
    for k in range(40):
        opt.zero_grad()
        (0.5 * (T([0.1, 1.0, 2.5]) * w**2).sum()).backward()
        opt.step()
        assert torch.allclose(w.detach(), runs["pytorch"][k + 1], atol=1e-12)


def test_conventions_under_a_schedule():
    g = quad([0.1, 1.0])
    x0 = T([1.0, 1.0])
    sched = lambda k: 1.0 if k < 10 else 0.1  # noqa: E731
    runs = {c: mom.heavy_ball(g, x0, 0.5, 0.9, 30, convention=c, schedule=sched) for c in mom.CONVENTIONS}
    # identical up to the first change of step size, then PyTorch's rescaled momentum departs
    assert torch.allclose(runs["pytorch"][:11], runs["sutskever"][:11], atol=1e-12)
    assert (runs["pytorch"][12:] - runs["sutskever"][12:]).abs().max() > 1e-2
    assert torch.allclose(runs["sutskever"], runs["polyak"], atol=1e-12)
    # and PyTorch's form is torch.optim.SGD with a LambdaLR schedule
    w = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=0.5, momentum=0.9)
    lr = torch.optim.lr_scheduler.LambdaLR(opt, sched)
    for k in range(30):
        opt.zero_grad()
        (0.5 * (T([0.1, 1.0]) * w**2).sum()).backward()
        opt.step()
        lr.step()
        assert torch.allclose(w.detach(), runs["pytorch"][k + 1], atol=1e-12)


@pytest.mark.parametrize(
    "al, beta, name",
    [(0.5, 0.05, mom.MONOTONE), (1.0, 0.0, mom.ONE_STEP), (1.0, 0.5, mom.RIPPLES), (1.8, 0.05, mom.OSCILLATION),
     (2.5, 0.1, mom.DIVERGENCE), (1.0, 1.0, mom.DIVERGENCE)],
)
def test_regime_names(al, beta, name):
    assert mom.regime(al, beta) == name


def test_regimes_behave_as_named():
    def signs(al, beta):
        w = mom.heavy_ball(quad([1.0]), T([1.0]), al, beta, 30)[:, 0]
        return w
    w = signs(0.3, 0.05)
    assert (w > 0).all() and (w[1:] < w[:-1]).all()  # monotone decrease
    w = signs(1.9, 0.01)
    assert (w[1:] * w[:-1] < 0).all()  # sign flips every step
    assert float(signs(1.0, 0.0)[1].abs()) < 1e-15  # one step


def test_critical_damping_separates_real_and_complex():
    for al in (0.2, 0.7, 1.5, 3.0):
        b = float(mom.critical_damping(al))
        assert mom.regime(al, min(b + 0.01, 0.99)) in (mom.RIPPLES, mom.DIVERGENCE)
        if b > 0.02:
            assert mom.regime(al, b - 0.01) in (mom.MONOTONE, mom.OSCILLATION, mom.DIVERGENCE)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=-1.0), "alpha"),
        (dict(beta=1.5), "beta"),
        (dict(beta=-0.1), "beta"),
        (dict(convention="nesterov"), "convention"),
        (dict(steps=-3), "steps"),
        (dict(schedule=[1.0, 2.0]), "schedule"),
        (dict(x0=[float("nan")]), "x0"),
    ],
)
def test_heavy_ball_rejects_bad_input(kwargs, match):
    args = dict(grad=quad([1.0]), x0=[1.0], alpha=0.1, beta=0.5, steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mom.heavy_ball(**args)


def test_bad_spectra_and_values():
    with pytest.raises(ValueError, match="lmax"):
        mom.optimal_gd(2.0, 1.0)
    with pytest.raises(ValueError, match="lmin"):
        mom.optimal_momentum(0.0, 1.0)
    with pytest.raises(ValueError, match="lam"):
        mom.rate(0.1, 0.5, float("nan"))
    with pytest.raises(ValueError, match="beta"):
        mom.regime(1.0, -0.1)
    with pytest.raises(ValueError, match="n"):
        mom.spectrum(10.0, n=1)


# Issue 14 item 8: the scalar APIs accept the same ranges and every real scalar type.
@pytest.mark.parametrize("beta", [-0.5, 1.5, 1.0 + 1e-12])
def test_rate_rejects_beta_outside_heavy_ball_range(beta):
    with pytest.raises(ValueError, match="beta"):
        mom.heavy_ball(quad([1.0]), [1.0], 0.1, beta, 3)
    with pytest.raises(ValueError, match="beta"):
        mom.rate(0.1, beta, 1.0)
    with pytest.raises(ValueError, match="beta"):
        mom.rate(0.1, np.array([0.2, beta]), 1.0)
    with pytest.raises(ValueError, match="beta"):
        mom.regime(0.5, beta)
    with pytest.raises(ValueError, match="beta"):
        mom.iteration_matrix(0.1, beta, 1.0)
    with pytest.raises(ValueError, match="beta"):
        mom.worst_rate(0.1, beta, [1.0])


@pytest.mark.parametrize("to", [float, np.float64, np.float32, lambda v: torch.tensor(v), np.array,
                                lambda v: torch.tensor(v, dtype=torch.float32)])
def test_scalar_apis_accept_any_real_scalar_type(to):
    alpha, beta, lam = 0.5, 0.25, 2.0
    want_R = mom.iteration_matrix(alpha, beta, lam)
    R = mom.iteration_matrix(to(alpha), to(beta), to(lam))
    assert R.dtype == torch.float64 and torch.equal(R, want_R)
    assert mom.regime(to(alpha * lam), to(beta)) == mom.regime(alpha * lam, beta)
    assert mom.rate(to(alpha), to(beta), to(lam)) == mom.rate(alpha, beta, lam)
    assert mom.worst_rate(to(alpha), to(beta), [lam]) == mom.rate(alpha, beta, lam)
    traj = mom.heavy_ball(quad([lam]), [1.0], to(alpha), to(beta), 4)
    assert torch.equal(traj, mom.heavy_ball(quad([lam]), [1.0], alpha, beta, 4))
    assert mom.optimal_momentum(to(0.015625), to(1.0)) == mom.optimal_momentum(0.015625, 1.0)


@pytest.mark.parametrize("bad", [True, 1 + 2j, "0.5", torch.tensor([0.5, 0.5]), np.array([0.5, 0.5]),
                                 torch.tensor(0.5 + 0j), float("nan"), np.float32("inf"), None])
def test_scalar_apis_refuse_non_real_scalars(bad):
    for call in (lambda: mom.iteration_matrix(0.1, bad, 1.0), lambda: mom.regime(0.5, bad),
                 lambda: mom.heavy_ball(quad([1.0]), [1.0], 0.1, bad, 3)):
        with pytest.raises(ValueError, match="beta"):
            call()
    with pytest.raises(ValueError, match="alpha"):
        mom.iteration_matrix(bad, 0.5, 1.0)


def test_beta_one_is_accepted_everywhere_and_never_converges():
    assert mom.rate(0.5, 1.0, 1.0) >= 1.0 and mom.regime(0.5, 1.0) == mom.DIVERGENCE
    traj = mom.heavy_ball(quad([1.0]), [1.0], 0.5, 1.0, 200)
    assert traj[100:].abs().max() > 0.5  # undamped: the error does not decay


def test_critical_damping_refuses_negative_alpha_lam():
    with pytest.raises(ValueError, match="alpha_lam"):
        mom.critical_damping(-0.5)


# Issue 16: the grid point of the optimum, transient growth, noise floor, Nesterov.
def test_best_on_grid_beats_rounding_and_stays_near_the_optimum():
    a0, b0, r0 = mom.optimal_momentum(0.01, 1.0)
    a, b, r = mom.best_on_grid(0.01, 1.0, 1e-3, 1e-3)
    rounded = mom.worst_rate(round(a0, 3), round(b0, 3), [0.01, 1.0])
    assert r == mom.worst_rate(a, b, [0.01, 1.0]) and r < rounded - 0.02  # rounding beta down costs 0.03
    assert abs(r - r0) < 1e-3 and abs(a - a0) <= 4e-3 and abs(b - b0) <= 4e-3
    assert b > b0  # the good side of the square-root edge: beta rounded up
    for da in (-1e-3, 0.0, 1e-3):
        for db in (-1e-3, 0.0, 1e-3):
            assert mom.worst_rate(round(a + da, 3), round(b + db, 3), [0.01, 1.0]) >= r - 1e-12
    with pytest.raises(ValueError, match="alpha_step"):
        mom.best_on_grid(0.01, 1.0, 0.0)
    with pytest.raises(ValueError, match="reach"):
        mom.best_on_grid(0.01, 1.0, reach=0)


def test_polyak_matrix_powers_give_the_iterates_and_grow_before_they_decay():
    a, b, lam = 3.306, 0.669, 1.0
    T = mom.polyak_matrix(a, b, lam)
    assert np.max(np.abs(np.linalg.eigvals(T))) == pytest.approx(mom.rate(a, b, lam), rel=1e-9)
    traj = mom.heavy_ball(quad([lam]), T_([1.0]), a, b, 30)[:, 0].numpy()
    p, state = np.eye(2), np.array([1.0, 1.0])
    for k in range(31):
        assert (p @ state)[0] == pytest.approx(traj[k], rel=1e-9, abs=1e-12)
        p = T @ p
    norms = mom.power_norms(T, 60)
    rho = mom.rate(a, b, lam)
    assert norms[0] == pytest.approx(1.0) and norms.max() > 3.0 * rho ** np.argmax(norms)  # transient growth
    assert norms[-1] < 1.0  # ... before the decay
    sym = np.array([[0.5, 0.1], [0.1, 0.3]])  # a normal matrix: no transient, ||M^k|| = rho^k
    assert np.allclose(mom.power_norms(sym, 10), np.max(np.abs(np.linalg.eigvalsh(sym))) ** np.arange(11))
    with pytest.raises(ValueError, match="matrix"):
        mom.power_norms(np.ones((2, 3)), 3)


def T_(values):
    return torch.tensor(values, dtype=torch.float64)


def test_stationary_variance_matches_simulation_over_seeds():
    from mbp_teach.momentum import noise

    lam = np.array([0.05, 1.0])
    for method in noise.METHODS:
        for alpha, beta in ((0.5, 0.0), (0.5, 0.8), (1.2, 0.5)):
            traj = noise.run(alpha, beta, lam, 0.1, 4000, range(40), w0=np.zeros(2), method=method)
            measured = (traj[:, 1000:] ** 2).mean(axis=(0, 1))
            want = noise.stationary_variance(alpha, beta, lam, 0.1, method)
            assert np.allclose(measured, want, rtol=0.08), (method, alpha, beta, measured, want)
    # GD's textbook value and momentum's factor (1 + b) / ((1 - b)) (2 - a l) / (2 + 2 b - a l)
    assert noise.stationary_variance(0.5, 0.0, 1.0, 1.0) == pytest.approx(0.5 / (2 - 0.5))
    assert noise.stationary_loss(0.5, 0.0, [1.0, 2.0], 0.0) == 0.0
    with pytest.raises(ValueError, match="stationary"):
        noise.stationary_variance(3.0, 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="sigma"):
        noise.run(0.1, 0.5, [1.0], -1.0, 5, [0])
    with pytest.raises(ValueError, match="method"):
        noise.run(0.1, 0.5, [1.0], 0.1, 5, [0], method="adam")
    a, b = noise.run(0.1, 0.5, [1.0], 0.1, 5, [3]), noise.run(0.1, 0.5, [1.0], 0.1, 5, [3])
    assert np.array_equal(a, b)  # a fixed noise sequence per seed


def test_nesterov_rate_is_heavy_ball_with_effective_momentum_and_matches_iterates():
    from mbp_teach.momentum import nesterov as nag

    for alpha, beta, lam in [(0.5, 0.9, 0.3), (1.0, 0.8, 0.01), (1.5, 0.5, 1.0), (0.2, 0.0, 2.0)]:
        N = nag.iteration_matrix(alpha, beta, lam)
        assert nag.rate(alpha, beta, lam) == pytest.approx(float(np.max(np.abs(np.linalg.eigvals(N)))), rel=1e-7)
        b = nag.effective_momentum(alpha, beta, lam)
        if b >= 0:
            assert nag.rate(alpha, beta, lam) == pytest.approx(mom.rate(alpha, b, lam), rel=1e-12)
        traj = nag.nesterov(quad([lam]), T_([1.0]), alpha, beta, 12)[:, 0].numpy()
        p = np.eye(2)
        for k in range(13):
            assert (p @ np.array([1.0, 1.0]))[0] == pytest.approx(traj[k], rel=1e-9, abs=1e-12)
            p = N @ p
    alpha, beta, r = nag.standard_setting(0.01, 1.0)
    assert (alpha, r) == (1.0, pytest.approx(0.9)) and nag.worst_rate(alpha, beta, [0.01, 1.0]) == pytest.approx(0.9)
    assert nag.rate(alpha, beta, 1.0) < 1e-7  # alpha lmax = 1: nilpotent
    assert r > mom.optimal_momentum(0.01, 1.0)[2]  # on a quadratic, tuned heavy ball is faster
    with pytest.raises(ValueError, match="beta"):
        nag.rate(0.1, 1.5, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        nag.nesterov(quad([1.0]), [1.0], -0.1, 0.5, 3)
