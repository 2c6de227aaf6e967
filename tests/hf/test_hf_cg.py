"""CG against scipy.sparse.linalg.cg, Martens' rule, flexible CG, and the L-BFGS preconditioner."""

import math
from itertools import pairwise

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from hf_threads import one_thread  # noqa: F401  (autouse fixture)

from mbp_teach.hf.conjugate_gradient import backtrack_grid, cg, martens_should_stop
from mbp_teach.hf.precond import LBFGS, MartensDiagonal, make


def spd(n, kappa, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return q @ torch.diag(torch.logspace(0, math.log10(kappa), n, dtype=torch.float64)) @ q.T, g


def scipy_iterates(A, b, M=None, maxiter=12):
    xs = []
    op = None if M is None else spla.LinearOperator(A.shape, matvec=lambda v: M @ v)
    spla.cg(A, b, rtol=1e-12, atol=0.0, maxiter=maxiter, M=op, callback=lambda xk: xs.append(xk.copy()))
    return np.array(xs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("preconditioned", [False, True])
def test_cg_matches_scipy_iterates(seed, preconditioned):
    A, g = spd(40, 1e2, seed)
    b = torch.randn(40, generator=g, dtype=torch.float64)
    Minv = torch.diag(1.0 / (torch.diag(A) + torch.rand(40, generator=g, dtype=torch.float64))) if preconditioned else None
    keep = list(range(1, 13))  # beyond ~15 iterations rounding (lost orthogonality) makes any two CGs drift
    _, hist = cg(lambda v: A @ v, b, M=(lambda r: Minv @ r) if preconditioned else None, max_iters=12, rtol=1e-12,
                 keep=keep)
    ours = np.array([hist.kept[i].numpy() for i in keep if i in hist.kept])
    ref = scipy_iterates(A.numpy(), b.numpy(), None if Minv is None else Minv.numpy())
    assert len(ours) == len(ref) == 12
    scale = np.abs(ref).max()
    assert np.abs(ours - ref).max() <= 1e-8 * scale


def test_flexible_equals_standard_for_a_fixed_preconditioner():
    A, g = spd(30, 1e2, 3)
    b = torch.randn(30, generator=g, dtype=torch.float64)
    Minv = torch.diag(1.0 / torch.diag(A))
    x1, h1 = cg(lambda v: A @ v, b, M=lambda r: Minv @ r, max_iters=200, rtol=1e-10)
    x2, h2 = cg(lambda v: A @ v, b, M=lambda r: Minv @ r, flexible=True, max_iters=200, rtol=1e-10)
    assert h1.stop_reason == h2.stop_reason == "converged"
    assert abs(h1.iterations - h2.iterations) <= 2
    assert float((x1 - x2).norm()) <= 1e-8 * float(x1.norm())


def test_history_pairs_and_model_values():
    A, g = spd(25, 50, 4)
    b = torch.randn(25, generator=g, dtype=torch.float64)
    x, hist = cg(lambda v: A @ v, b, max_iters=8, rtol=0.0)
    assert hist.iterations == 8 and hist.stop_reason == "max_iters = 8"
    for s, y in zip(hist.s, hist.y, strict=True):
        assert torch.allclose(A @ s, y, atol=1e-12)
    phi = 0.5 * x @ A @ x - b @ x
    assert abs(float(phi) - hist.phi[-1]) <= 1e-10 * abs(float(phi))
    assert all(a >= c - 1e-12 for a, c in pairwise(hist.phi))  # CG decreases the model monotonically


def test_martens_rule_stops_early_on_stalling_model():
    A, g = spd(200, 10.0, 5)  # well conditioned: the model is nearly minimised after ~15 iterations
    b = torch.randn(200, generator=g, dtype=torch.float64)
    _, hist = cg(lambda v: A @ v, b, max_iters=250, rtol=0.0, martens=True)
    assert hist.stop_reason.startswith("Martens") and 10 < hist.iterations < 250
    assert martens_should_stop(hist.phi) and not martens_should_stop(hist.phi[:-1])


def test_backtrack_grid_is_martens():
    assert backtrack_grid(40) == [5, 7, 9, 11, 15, 19, 25, 32]  # ceil(5 * 1.3^j)


def lbfgs_solves(pre, systems, flexible=False):
    its = []
    for A, b in systems:
        _, hist = cg(A.matmul, b, M=pre, flexible=flexible, max_iters=1000, rtol=1e-6,
                     on_pair=pre.add_pair)
        pre.end_solve()
        its.append(hist.iterations)
    return its


def related_systems(n=200, count=5, seed=0):
    """A_k = Q diag(lam) Q^T (up to 2% drift): 40 spread-out large eigenvalues in [1, 1e4] over a bulk in
    [0.01, 0.1] (kappa = 1e6), a new right-hand side each time -- like consecutive HF solves."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    lam = torch.cat([torch.logspace(-2, -1, n - 40, dtype=torch.float64), torch.logspace(0, 4, 40, dtype=torch.float64)])
    out = []
    for _ in range(count):
        drift = 1 + 0.02 * torch.rand(n, generator=g, dtype=torch.float64)
        out.append((q @ torch.diag(lam * drift) @ q.T, torch.randn(n, generator=g, dtype=torch.float64)))
    return out


def test_lbfgs_preconditioner_cuts_cg_iterations_on_related_systems():
    systems = related_systems()
    plain = lbfgs_solves(make("none"), systems)
    pre = lbfgs_solves(LBFGS(memory=40), systems)
    assert pre[0] == plain[0]  # nothing to precondition with on the first system
    assert sum(plain[1:]) >= 1.5 * sum(pre[1:]), (plain, pre)


def test_lbfgs_is_inverse_on_its_pairs():
    A, g = spd(20, 100, 6)
    pre = LBFGS(memory=20, selection="last")
    b = torch.randn(20, generator=g, dtype=torch.float64)
    _, hist = cg(lambda v: A @ v, b, max_iters=5, rtol=0.0, on_pair=pre.add_pair)
    pre.end_solve()
    s, y = hist.s[-1], hist.y[-1]
    assert torch.allclose(pre(y), s, rtol=1e-8, atol=1e-12)  # secant equation H y = s for the newest pair


def dense_bfgs_inverse(pairs, gamma):
    """H_0 = gamma I, then H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T for each pair, oldest first."""
    n = pairs[0][0].numel()
    eye = torch.eye(n, dtype=torch.float64)
    H = gamma * eye
    for s, y in pairs:
        rho = 1.0 / float(s @ y)
        H = (eye - rho * torch.outer(s, y)) @ H @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
    return H


@pytest.mark.parametrize("memory", [1, 3, 8])
def test_compact_form_and_two_loop_apply_the_bfgs_inverse(memory):
    A, g = spd(15, 1e3, 11)
    pre = LBFGS(memory=memory, during_solve=True)
    for k in range(memory + 2):  # more pairs than memory: the oldest drop out, the compact form is rebuilt
        s = torch.randn(15, generator=g, dtype=torch.float64)
        pre.add_pair(s, A @ s)
        r = torch.randn(15, generator=g, dtype=torch.float64)
        pairs = [(s_, y_) for s_, y_, _ in pre.pairs]
        s_new, y_new = pairs[-1]
        want = dense_bfgs_inverse(pairs, float(s_new @ y_new / (y_new @ y_new))) @ r
        assert torch.allclose(pre(r), want, rtol=1e-9, atol=1e-12), k
        assert torch.allclose(pre.two_loop(r), want, rtol=1e-9, atol=1e-12), k


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_memory(bad):
    with pytest.raises(ValueError, match="memory"):
        LBFGS(memory=bad)


def test_bad_preconditioner_name_and_missing_statistics():
    with pytest.raises(ValueError, match="preconditioner"):
        make("jacobi")
    with pytest.raises(ValueError, match="squared_gradients"):
        MartensDiagonal().prepare(damping=1.0)


def test_cg_bad_input():
    with pytest.raises(ValueError, match="b:"):
        cg(lambda v: v, torch.ones(2, 2))
    with pytest.raises(ValueError, match="max_iters"):
        cg(lambda v: v, torch.ones(2), max_iters=-1)
    with pytest.raises(ValueError, match="x0"):
        cg(lambda v: v, torch.ones(2), x0=torch.ones(3))


def test_nan_right_hand_side_is_an_error_not_non_positive_curvature():
    A, g = spd(10, 10, 5)
    b = torch.randn(10, generator=g, dtype=torch.float64)
    b[3] = float("nan")
    with pytest.raises(ValueError, match="b: contains 1 NaN"):
        cg(lambda v: A @ v, b)
    with pytest.raises(ValueError, match="x0"):
        cg(lambda v: A @ v, b.nan_to_num(), x0=torch.full((10,), float("inf"), dtype=torch.float64))


def test_nan_product_is_an_error():
    A, g = spd(10, 10, 6)
    b = torch.randn(10, generator=g, dtype=torch.float64)
    calls = []

    def matvec(v):
        calls.append(1)
        return A @ v if len(calls) < 3 else torch.full_like(v, float("nan"))

    with pytest.raises(ValueError, match="iteration 3 contains NaN"):
        cg(matvec, b, max_iters=20)
