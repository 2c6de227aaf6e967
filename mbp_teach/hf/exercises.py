"""Checkers for notebooks 06 (Hessian-free) and 07 (implicit L-BFGS preconditioning and sampling).

* ``06.cg``: plain CG from its recurrences, compared with ``hf.cg`` iterate by iterate count;
* ``06.gnvp``: a Gauss-Newton vector product J^T H_L J v with ``torch.func``, compared with dense
  J^T H_L J on small nonlinear models whose Hessian differs from G;
* ``06.hf_step``: one whole HF iteration assembled from CG, the Gauss-Newton product, backtracking, the
  Levenberg-Marquardt rule and Armijo, compared with ``HessianFree.step`` from the same theta, lambda and
  warm start;
* ``07.two_loop``: the L-BFGS two-loop recursion, compared with the dense BFGS inverse update
  H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T applied pair by pair from H_0 = gamma I.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch.func import grad, jvp, vjp

from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.hf.conjugate_gradient import backtrack_grid, cg

F64 = torch.float64


def _as_vector(value, n: int, what: str) -> torch.Tensor:
    got = torch.as_tensor(np.asarray(value, dtype=np.float64) if not torch.is_tensor(value) else value).to(F64)
    if got.shape != (n,):
        raise Hint(f"return {what}, a vector of shape ({n},); got shape {tuple(got.shape)}")
    return got.detach()


def _agrees(got: torch.Tensor, other: torch.Tensor, scale: float, rtol: float) -> bool:
    """||got - other|| <= rtol * scale (scale: the norm of the right answer)."""
    return float((got - other).norm()) <= rtol * scale


# ---- 06.cg ------------------------------------------------------------------------------------


def _spd(n: int, kappa: float, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    return q @ torch.diag(torch.logspace(0, np.log10(kappa), n, dtype=F64)) @ q.T


def _cg_cases():
    """(description, A, b, iterations): none of them is shown in the notebook."""
    g = torch.Generator().manual_seed(606)
    cases = []
    for n, kappa, iters in ((6, 10.0, 1), (12, 100.0, 3), (20, 1e3, 8), (30, 1e4, 15), (5, 50.0, 5)):
        cases.append((f"n = {n}, kappa = {kappa:g}, {iters} iteration(s)", _spd(n, kappa, g),
                      torch.randn(n, generator=g, dtype=F64), iters))
    return cases


def _cg_reference(A, b, iters):
    x, _ = cg(A.matmul, b, max_iters=iters, rtol=0.0)
    return x


class _CountedProduct:
    """v -> A v, counting how often it is called."""

    def __init__(self, A: torch.Tensor):
        self.A, self.calls = A, 0

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.A @ v


def _cg_wrong_steepest_descent(matvec, b, iters):
    x = torch.zeros_like(b)
    r = b.clone()
    for _ in range(iters):
        ar = matvec(r)
        x = x + float(r @ r) / float(r @ ar) * r
        r = b - matvec(x)
    return x


def _cg_variant(matvec, b, iters, beta_sign=1.0, alpha_uses_A=True):
    """CG with one of two slips: the sign of beta, or p^T p in place of p^T A p in alpha."""
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), float(r @ r)
    for _ in range(iters):
        ap = matvec(p)
        alpha = rr / float(p @ ap if alpha_uses_A else p @ p)
        x, r = x + alpha * p, r - alpha * ap
        rr_new = float(r @ r)
        p = r + beta_sign * rr_new / rr * p
        rr = rr_new
    return x


def _cg_wrong_beta_sign(matvec, b, iters):
    return _cg_variant(matvec, b, iters, beta_sign=-1.0)


def _cg_wrong_alpha_without_A(matvec, b, iters):
    return _cg_variant(matvec, b, iters, alpha_uses_A=False)


@exercise("06.cg", wrong=[(_cg_wrong_steepest_descent, "steepest descent"), (_cg_wrong_beta_sign, "beta"),
                          (_cg_wrong_alpha_without_A, "p^T A p")])
def check_cg(fn) -> str:
    """fn(matvec, b, iters) -> x_iters of plain CG on A x = b from x_0 = 0 (A SPD, given as v -> A v)."""
    cases = _cg_cases()
    for name, A, b, iters in cases:
        matvec = _CountedProduct(A)
        got = _as_vector(fn(matvec, b.clone(), iters), b.numel(), "x after `iters` CG iterations")
        want = _cg_reference(A, b, iters)
        scale = float(want.norm())
        if _agrees(got, want, scale, 1e-8):
            if matvec.calls > iters + 1:
                raise Hint(f"on {name}: right answer, but {matvec.calls} products A v for {iters} iterations; "
                           "CG needs one per iteration (update r = r - alpha A p instead of recomputing b - A x)")
            continue
        where = f"on {name}: ||x - x_CG|| / ||x_CG|| = {float((got - want).norm()) / scale:.2g}"
        if _agrees(got, _cg_wrong_steepest_descent(A.matmul, b, iters), scale, 1e-8):
            raise Hint(f"{where}. That is steepest descent with exact line search: the new direction must be "
                       "p = r_new + beta p with beta = r_new^T r_new / r^T r, not the residual alone")
        if _agrees(got, _cg_wrong_beta_sign(A.matmul, b, iters), scale, 1e-8):
            raise Hint(f"{where}. Check the sign: p_new = r_new + beta p, beta = r_new^T r_new / r^T r > 0")
        if _agrees(got, _cg_wrong_alpha_without_A(A.matmul, b, iters), scale, 1e-8):
            raise Hint(f"{where}. The step length minimises phi along p: alpha = r^T r / p^T A p (p^T A p, not p^T p)")
        if iters > 1 and _agrees(got, _cg_reference(A, b, 1), scale, 1e-8):
            raise Hint(f"{where}; you return the first iterate: run `iters` iterations")
        raise Hint(f"{where}. Start from x = 0, r = p = b; each iteration alpha = r^T r / p^T A p, x += alpha p, "
                   "r -= alpha A p, beta = r_new^T r_new / r^T r, p = r_new + beta p")
    return f"matches hf.cg on {len(cases)} hidden SPD systems (kappa up to 1e4), one product A v per iteration"


# ---- 06.gnvp ----------------------------------------------------------------------------------


Model = Callable[[torch.Tensor], torch.Tensor]  # theta -> outputs z
OutputLoss = Callable[[torch.Tensor], torch.Tensor]  # z -> scalar loss


def _gnvp_cases() -> list[tuple[str, Model, OutputLoss, torch.Tensor, torch.Tensor]]:
    """(description, f: theta -> z, loss: z -> scalar, theta, v) on tiny nonlinear models."""
    g = torch.Generator().manual_seed(6060)
    cases: list[tuple[str, Model, OutputLoss, torch.Tensor, torch.Tensor]] = []

    x = torch.randn(5, 3, generator=g, dtype=F64)
    labels = torch.randint(0, 4, (5,), generator=g)

    def tanh_net(theta: torch.Tensor, x: torch.Tensor = x) -> torch.Tensor:  # 3 -> 4 (tanh) -> 4 logits
        w1, b1, w2 = theta[:12].view(4, 3), theta[12:16], theta[16:32].view(4, 4)
        return torch.tanh(x @ w1.T + b1) @ w2.T

    def ce(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(z, labels)

    cases.append(("a tanh net with softmax cross-entropy (H_L = diag(p) - p p^T)", tanh_net, ce,
                  torch.randn(32, generator=g, dtype=F64), torch.randn(32, generator=g, dtype=F64)))

    x2 = torch.randn(7, 2, generator=g, dtype=F64)
    t2 = torch.rand(7, 3, generator=g, dtype=F64)

    def sigmoid_net(theta: torch.Tensor, x: torch.Tensor = x2) -> torch.Tensor:  # 2 -> 3 (logistic) -> 3 logistic outputs
        w1, w2 = theta[:6].view(3, 2), theta[6:15].view(3, 3)
        return torch.sigmoid(torch.sigmoid(x @ w1.T) @ w2.T)

    def sse(z: torch.Tensor) -> torch.Tensor:  # H_L = 5 I: the scale must come through
        return 2.5 * ((z - t2) ** 2).sum()

    cases.append(("a two-layer logistic net with a scaled squared error", sigmoid_net, sse,
                  torch.randn(15, generator=g, dtype=F64) * 2, torch.randn(15, generator=g, dtype=F64)))

    def product_model(theta: torch.Tensor) -> torch.Tensor:  # z = (a b, a^2 - b, sin(a) c): curved in theta
        a, b, c = theta
        return torch.stack([a * b, a**2 - b, torch.sin(a) * c])

    w = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 3.0]], dtype=F64)

    def quad(z: torch.Tensor) -> torch.Tensor:  # H_L = w, not diagonal; linear term makes Hessian != G
        return 0.5 * z @ w @ z + z.sum()

    cases.append(("a three-parameter polynomial model with a non-diagonal quadratic loss", product_model, quad,
                  torch.tensor([0.7, -1.2, 0.4], dtype=F64), torch.tensor([1.0, 2.0, -0.5], dtype=F64)))
    return cases


def _gn_dense(f, loss, theta):
    J = torch.autograd.functional.jacobian(lambda th: f(th).reshape(-1), theta)
    z = f(theta).detach()
    H_L = torch.autograd.functional.hessian(lambda zz: loss(zz.view(z.shape)), z.reshape(-1))
    return J, H_L


# [1] and [:2] below: torch annotates jvp and vjp as maybe returning has_aux=True's extra item


def _gnvp_wrong_hessian(f, loss, theta, v):
    def total(th: torch.Tensor) -> torch.Tensor:
        return loss(f(th))

    return jvp(grad(total), (theta,), (v,))[1]


def _gnvp_wrong_no_HL(f, loss, theta, v):
    jv = jvp(f, (theta,), (v,))[1]
    pullback = vjp(f, theta)[1]
    return pullback(jv)[0]


def _gnvp_wrong_gradient_outer(f, loss, theta, v):
    # J^T (grad_z L)(grad_z L)^T J v: the "empirical Fisher" of the whole batch, a rank-one matrix
    z, pullback = vjp(f, theta)[:2]
    gz = grad(loss)(z)
    jv = jvp(f, (theta,), (v,))[1]
    return pullback(gz * float((gz * jv).sum()))[0]


@exercise("06.gnvp", wrong=[(_gnvp_wrong_hessian, "Hessian"), (_gnvp_wrong_no_HL, "H_L"),
                            (_gnvp_wrong_gradient_outer, "gradient")])
def check_gnvp(fn) -> str:
    """fn(f, loss, theta, v) -> G v = J^T H_L J v with J = df/dtheta, H_L = d^2 loss / dz^2 at z = f(theta)."""
    cases = _gnvp_cases()
    for name, f, loss, theta, v in cases:
        got = _as_vector(fn(f, loss, theta.clone(), v.clone()), theta.numel(), "G v")
        J, H_L = _gn_dense(f, loss, theta)
        want = J.T @ H_L @ J @ v
        scale = float(want.norm())
        if _agrees(got, want, scale, 1e-9):
            continue
        where = f"on {name}: ||got - G v|| / ||G v|| = {float((got - want).norm()) / scale:.2g}"
        if _agrees(got, _gnvp_wrong_hessian(f, loss, theta, v), scale, 1e-9):
            raise Hint(f"{where}. That is the exact Hessian product H v: it also contains the network's own curvature "
                       "sum_k (dL/dz_k) d^2 z_k / dtheta^2, which Gauss-Newton drops. Push v through J (jvp), "
                       "multiply by H_L on the outputs, pull back with J^T (vjp)")
        if _agrees(got, _gnvp_wrong_no_HL(f, loss, theta, v), scale, 1e-9):
            raise Hint(f"{where}. You return J^T J v: the loss's curvature H_L on the outputs is missing "
                       "(it is the identity only for 1/2 ||z - t||^2 without averaging). Apply H_L to J v, e.g. as a "
                       "jvp of grad(loss) at z")
        if _agrees(got, _gnvp_wrong_gradient_outer(f, loss, theta, v), scale, 1e-9):
            raise Hint(f"{where}. You used the outer product of the loss gradient (grad_z L)(grad_z L)^T in place of "
                       "H_L = d^2 L / dz^2: that is a rank-one 'Fisher' of one batch, not the Gauss-Newton matrix")
        raise Hint(f"{where}. G v = J^T (H_L (J v)): J v by jvp(f, (theta,), (v,)), H_L u by "
                   "jvp(grad(loss), (z,), (u,)), J^T w by the pullback of vjp(f, theta)")
    return (f"matches dense J^T H_L J v on {len(cases)} hidden models (cross-entropy, scaled squared error, "
            "a non-diagonal H_L), where the Hessian differs from G")


# ---- 06.hf_step --------------------------------------------------------------------------------


def _hf_step_variant(objective, theta, lam, d_prev, warm=True, backtrack=True, line_search=True, lm_sign=1):
    """One HF iteration with Martens' settings (250 CG, warm start 0.95, his stopping rule, backtracking, LM 3/2 and
    2/3 with floor 1e-6, Armijo c = 1e-2, t in 0.8^j, j <= 40); the switches make the registered mistakes."""
    f0, g = objective.loss_and_grad(theta)
    product = objective.gauss_newton(theta)
    x0 = 0.95 * d_prev if (warm and d_prev is not None) else None
    grid = backtrack_grid(250)
    d_last, hist = cg(lambda v: product(v) + lam * v, -g, x0=x0, max_iters=250, martens=True, keep=grid)
    its = sorted(hist.kept)
    chosen = its[-1]
    f_new = objective.loss(theta + hist.kept[chosen])
    for i in reversed(its[:-1]) if backtrack else []:
        f_i = objective.loss(theta + hist.kept[i])
        if i == 0 or not f_i < f_new:
            break
        chosen, f_new = i, f_i
    d, phi = hist.kept[chosen], hist.phi[chosen]
    rho = (f_new - f0) / phi if phi < 0 and math.isfinite(f_new) else -math.inf
    good, bad = (rho > 0.75, rho < 0.25) if lm_sign > 0 else (rho < 0.25, rho > 0.75)
    lam_new = max(1.5 * lam, 1e-6) if bad else (2 / 3 * lam if good else lam)
    t, slope, f_t = 1.0, float(g @ d), f_new
    if line_search:
        for _ in range(40):
            if math.isfinite(f_t) and f_t <= f0 + 1e-2 * t * slope:
                break
            t *= 0.8
            f_t = objective.loss(theta + t * d)
        else:
            if not (math.isfinite(f_t) and f_t <= f0 + 1e-2 * t * slope):
                t = 0.0
    return theta + t * d, lam_new, d_last


def _hf_wrong_cold(objective, theta, lam, d_prev):
    return _hf_step_variant(objective, theta, lam, d_prev, warm=False)


def _hf_wrong_no_backtrack(objective, theta, lam, d_prev):
    return _hf_step_variant(objective, theta, lam, d_prev, backtrack=False)


def _hf_wrong_no_line_search(objective, theta, lam, d_prev):
    return _hf_step_variant(objective, theta, lam, d_prev, line_search=False)


def _hf_wrong_lm_inverted(objective, theta, lam, d_prev):
    return _hf_step_variant(objective, theta, lam, d_prev, lm_sign=-1)


def _hf_cases():
    """(description, objective factory, HF steps taken before the one compared, lambda_0): none shown in 06."""
    from torch import nn

    from mbp_teach.hf.curvature import ModuleObjective, sum_squared_error
    from mbp_teach.hf.problems import rosenbrock_objective

    def tanh_regression():
        g = torch.Generator().manual_seed(6061)
        with torch.random.fork_rng():
            torch.manual_seed(6061)
            net = nn.Sequential(nn.Linear(3, 6, dtype=F64), nn.Tanh(), nn.Linear(6, 2, dtype=F64))
        x = torch.randn(20, 3, generator=g, dtype=F64)
        return ModuleObjective(net, sum_squared_error, x, torch.sin(2 * x[:, :2]) + 0.1 * x[:, 2:])

    def small_autoencoder():
        from mbp_teach.hf.curves import autoencoder, curve_images

        x = curve_images(40, side=4, seed=1)
        return ModuleObjective(autoencoder((16, 6, 2), seed=1), sum_squared_error, x, x)

    return [("Rosenbrock from (-1.5, 2) with lambda = 1e-4 (the Gauss-Newton step overshoots: rho < 0, t < 1)",
             lambda: rosenbrock_objective((-1.5, 2.0)), 0, 1e-4),
            ("a 16-6-2-6-16 autoencoder, first step (CG backtracks from iterate 9 to 5)", small_autoencoder, 0, 1.0),
            ("the same autoencoder after 3 HF steps (a warm start)", small_autoencoder, 3, 1.0),
            ("a tanh network fitting 20 points, after 2 HF steps", tanh_regression, 2, 1e-2)]


def _hf_reference(make, steps, lam0):
    from mbp_teach.hf.optimizer import Damping, HessianFree

    obj = make()
    opt = HessianFree(obj.model.parameters(), damping=Damping(lam0))
    for _ in range(steps):
        opt.step(obj)
    before = (obj.get_params(), opt.damping, None if opt.previous is None else opt.previous.clone())
    opt.step(obj)
    assert opt.previous is not None  # step() always stores its solution
    return obj, before, (obj.get_params(), opt.damping, opt.previous.clone())


@exercise("06.hf_step", wrong=[(_hf_wrong_cold, "warm start"), (_hf_wrong_no_backtrack, "backtrack"),
                               (_hf_wrong_no_line_search, "Armijo"), (_hf_wrong_lm_inverted, "rho")])
def check_hf_step(fn) -> str:
    """fn(objective, theta, lam, d_prev) -> (theta_new, lam_new, d): one HF iteration as ``HessianFree.step``."""
    cases = _hf_cases()
    for name, make, steps, lam0 in cases:
        obj, (theta, lam, d_prev), (want_theta, want_lam, want_d) = _hf_reference(make, steps, lam0)
        out = fn(obj, theta.clone(), lam, None if d_prev is None else d_prev.clone())
        if not (isinstance(out, tuple) and len(out) == 3):
            raise Hint("return a tuple (theta_new, lam_new, d): the new parameters, the next lambda and the CG solution "
                       "(the next warm start)")
        got_theta = _as_vector(out[0], theta.numel(), "theta_new")
        got_d = _as_vector(out[2], theta.numel(), "d (the last CG iterate)")
        got_lam = float(out[1])
        step = float((want_theta - theta).norm())
        # the same operations up to their order: round-off amplified by CG (kappa <= 1e6 here) stays below 1e-8
        ok = (_agrees(got_theta, want_theta, step + 1e-12 * float(theta.norm()), 1e-8)
              and abs(got_lam - want_lam) <= 1e-10 * want_lam and _agrees(got_d, want_d, float(want_d.norm()), 1e-8))
        if ok:
            continue
        where = (f"on {name}: ||theta_new - HF's|| / ||HF's step|| = "
                 f"{float((got_theta - want_theta).norm()) / max(step, 1e-300):.2g}, lambda {got_lam:.4g} (HF: {want_lam:.4g})")
        for wrong, hint in ((_hf_wrong_cold, "the warm start is missing: start CG from x0 = 0.95 d_prev"),
                            (_hf_wrong_no_backtrack, "backtrack over the kept CG iterates (newest first) while the "
                                                     "loss keeps improving; you took the last one"),
                            (_hf_wrong_lm_inverted, "the Levenberg-Marquardt rule is upside down: rho < 1/4 (a poor model)"
                                                    " calls for MORE damping, lambda * 3/2"),
                            (_hf_wrong_no_line_search, "the Armijo line search is missing: shrink t by 0.8 until "
                                                       "f(theta + t d) <= f(theta) + 1e-2 t g^T d")):
            w_theta, w_lam, w_d = wrong(obj, theta.clone(), lam, None if d_prev is None else d_prev.clone())
            if (_agrees(got_theta, w_theta, step + 1e-12 * float(theta.norm()), 1e-8)
                    and abs(got_lam - w_lam) <= 1e-10 * max(w_lam, 1e-300) and _agrees(got_d, w_d, float(w_d.norm()), 1e-8)):
                raise Hint(f"{where}. {hint[0].upper()}{hint[1:]}")
        raise Hint(f"{where}. In order: g and f; CG on (G + lambda I) d = -g from 0.95 d_prev (Martens' rule, iterates "
                   "kept on backtrack_grid(250)); backtrack; rho = (f(theta + d) - f) / phi(d) and the LM update; Armijo")
    return (f"matches HessianFree.step on {len(cases)} hidden cases (an overshooting Gauss-Newton step, CG backtracking, "
            "warm starts): same theta, lambda and CG solution")


# ---- 07.two_loop ------------------------------------------------------------------------------


def _pair_cases():
    """(description, pairs oldest first, r): pairs with s^T y > 0 from SPD matrices or a drifting sequence."""
    g = torch.Generator().manual_seed(707)
    cases = []
    for n, m, kappa in ((6, 1, 10.0), (10, 3, 100.0), (15, 7, 1e3)):
        A = _spd(n, kappa, g)
        pairs = []
        for _ in range(m):
            s = torch.randn(n, generator=g, dtype=F64)
            pairs.append((s, A @ s))
        cases.append((f"{m} pair(s) from one SPD matrix, n = {n}", pairs, torch.randn(n, generator=g, dtype=F64)))
    n = 8
    pairs = []
    for k in range(5):  # pairs from a slowly changing matrix, as from consecutive HF solves
        A = _spd(n, 50.0 * (k + 1), g) + 0.1 * torch.eye(n, dtype=F64)
        s = torch.randn(n, generator=g, dtype=F64) * (k + 1)
        pairs.append((s, A @ s))
    cases.append(("5 pairs from five different SPD matrices, s of growing length", pairs,
                  torch.randn(n, generator=g, dtype=F64)))
    return cases


def _bfgs_dense(pairs, gamma):
    n = pairs[0][0].numel()
    H, eye = gamma * torch.eye(n, dtype=F64), torch.eye(n, dtype=F64)
    for s, y in pairs:
        rho = 1.0 / float(s @ y)
        H = (eye - rho * torch.outer(s, y)) @ H @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
    return H


def _two_loop(pairs, r, gamma, newest_first=True):
    q, alphas = r.clone(), []
    first = list(reversed(pairs)) if newest_first else list(pairs)
    for s, y in first:
        a = float(s @ q) / float(s @ y)
        q = q - a * y
        alphas.append(a)
    q = gamma * q
    for (s, y), a in zip(reversed(first), reversed(alphas), strict=True):
        b = float(y @ q) / float(s @ y)
        q = q + (a - b) * s
    return q


def _newest_gamma(pairs):
    s, y = pairs[-1]
    return float(s @ y) / float(y @ y)


def _two_loop_wrong_no_scaling(pairs, r):
    return _two_loop(pairs, r, 1.0)


def _two_loop_wrong_order(pairs, r):
    return _two_loop(pairs, r, _newest_gamma(pairs), newest_first=False)


def _two_loop_wrong_gamma_inverted(pairs, r):
    return _two_loop(pairs, r, 1.0 / _newest_gamma(pairs))


@exercise("07.two_loop", wrong=[(_two_loop_wrong_no_scaling, "H_0"), (_two_loop_wrong_order, "newest"),
                                (_two_loop_wrong_gamma_inverted, "upside down")])
def check_two_loop(fn) -> str:
    """fn(pairs, r) -> H r, H the L-BFGS inverse-curvature estimate from ``pairs`` [(s, y), ...] (oldest first),
    H_0 = gamma I with gamma = s^T y / y^T y of the newest pair."""
    cases = _pair_cases()
    for name, pairs, r in cases:
        got = _as_vector(fn([(s.clone(), y.clone()) for s, y in pairs], r.clone()), r.numel(), "H r")
        gamma = _newest_gamma(pairs)
        want = _bfgs_dense(pairs, gamma) @ r
        scale = float(want.norm())
        if _agrees(got, want, scale, 1e-9):
            continue
        where = f"with {name}: ||got - H r|| / ||H r|| = {float((got - want).norm()) / scale:.2g}"
        if len(pairs) > 1 and _agrees(got, _two_loop_wrong_order(pairs, r), scale, 1e-9):
            raise Hint(f"{where}. The loops run in opposite orders: the first from the newest pair back to the oldest, "
                       "the second from the oldest to the newest (each peels off, then re-applies, one BFGS update)")
        if _agrees(got, _two_loop_wrong_no_scaling(pairs, r), scale, 1e-9):
            raise Hint(f"{where}. Between the loops multiply by H_0 = gamma I, gamma = s^T y / y^T y of the newest pair: "
                       "with H_0 = I the preconditioner has the wrong scale along every direction no pair has seen")
        if _agrees(got, _two_loop_wrong_gamma_inverted(pairs, r), scale, 1e-9):
            raise Hint(f"{where}. gamma is upside down: H approximates the INVERSE curvature, so gamma = s^T y / y^T y "
                       "(a typical 1 / eigenvalue), not y^T y / s^T y")
        if float(got @ r) <= 0:
            raise Hint(f"{where}, and r^T (your H r) = {float(got @ r):.3g} <= 0: a preconditioner must be positive "
                       "definite. Check the signs: q -= alpha_i y_i in the first loop, q += (alpha_i - beta_i) s_i in the second")
        raise Hint(f"{where}. First loop (newest to oldest): alpha_i = rho_i s_i^T q, q -= alpha_i y_i; q *= gamma; "
                   "second loop (oldest to newest): beta_i = rho_i y_i^T q, q += (alpha_i - beta_i) s_i; rho_i = 1 / s_i^T y_i")
    return (f"matches the dense BFGS inverse update on {len(cases)} hidden pair sets (1 to 7 pairs, pairs from "
            "changing matrices)")
