"""Heavy-ball momentum on quadratics: the iterates, the 2x2 iteration matrix and its spectral radius.

On f(w) = 1/2 sum_i lam_i w_i^2 (any quadratic, written in its eigenbasis) each eigen-direction
evolves on its own. With the PyTorch convention

    z_{k+1} = beta z_k + g_k,    w_{k+1} = w_k - alpha z_{k+1},    g_k = lam w_k,

the state (z_k, w_k) of one direction is multiplied by

    R = [[beta, lam], [-alpha beta, 1 - alpha lam]]

at every step, so the error shrinks like rho(R)^k: ``rate(alpha, beta, lam)`` = rho(R), the
per-eigenvalue convergence factor. R's eigenvalues solve mu^2 - (1 + beta - alpha lam) mu + beta = 0;
when they are complex |mu|^2 = det R = beta, so the rate is sqrt(beta). References: Agarwal,
Klobusicky & Schonfeld, J. Comput. Math. 39(1), 2021; arXiv 1705.07404, Polyak (1964),
Goh, "Why Momentum Really Works", Distill (2017).

Accepted inputs, the same in every function here: scalars may be any real scalar type (Python,
NumPy, 0-d tensor; ``validation.as_real_scalar``), and must be finite; momentum beta lies in
[0, 1] (``BETA_RANGE``; beta = 1 is undamped and never converges, beta < 0 or > 1 is refused);
alpha, lam and alpha*lam may be any finite real in the theory functions
(``rate``, ``regime``, ``iteration_matrix``: alpha*lam <= 0 is the divergent edge of the map),
while a run (``heavy_ball``) needs a step size alpha > 0. Anything else is a ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from mbp_teach.validation import as_real_scalar, as_tensor, check_finite, check_positive, check_range

CONVENTIONS = ("pytorch", "sutskever", "polyak")

# The five behaviours of Distill's (alpha*lam, beta) map.
RIPPLES = "ripples"
MONOTONE = "monotone decrease"
ONE_STEP = "one-step convergence"
OSCILLATION = "monotone oscillation"
DIVERGENCE = "divergence"

BETA_RANGE = (0.0, 1.0)  # momentum beta in [0, 1]; beta = 1 (no friction) is the edge where rate = 1


def _beta(beta, name: str = "beta") -> float:
    """A scalar beta of any real type, checked to lie in [0, 1]."""
    b = as_real_scalar(beta, name)
    check_range(b, name, *BETA_RANGE)
    return b


def _betas(beta, name: str = "beta") -> np.ndarray:
    """An array of betas (broadcasting input of ``rate``), every entry in [0, 1]."""
    b = _finite_array(beta, name)
    inside = (b >= BETA_RANGE[0]) & (b <= BETA_RANGE[1])
    if not inside.all():
        raise ValueError(f"{name}: must lie in [{BETA_RANGE[0]}, {BETA_RANGE[1]}], got {b[~inside].ravel()[0]}")
    return b


def _step_sizes(alpha: float, schedule, steps: int) -> list[float]:
    """alpha_k = alpha * schedule(k) (a callable or a sequence of factors); constant without one."""
    if schedule is None:
        return [alpha] * steps
    factors = [float(schedule(k)) for k in range(steps)] if callable(schedule) else [float(s) for s in schedule]
    if len(factors) < steps:
        raise ValueError(f"schedule: has {len(factors)} factors, need one per step ({steps})")
    for k, f in enumerate(factors[:steps]):
        if not math.isfinite(f) or f < 0:
            raise ValueError(f"schedule: factor at step {k} must be finite and non-negative, got {f}")
    return [alpha * f for f in factors[:steps]]


def heavy_ball(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0,
    alpha: float,
    beta: float,
    steps: int,
    convention: str = "pytorch",
    schedule: Callable[[int], float] | Sequence[float] | None = None,
    v0=None,
) -> torch.Tensor:
    """Run heavy-ball momentum and return the trajectory w_0, ..., w_steps as a (steps+1, *x0.shape) tensor.

    With alpha_k = alpha * schedule(k) (alpha_k = alpha without a schedule):

    - "pytorch"   (torch.optim.SGD): z_{k+1} = beta z_k + g_k;          w_{k+1} = w_k - alpha_k z_{k+1}
    - "sutskever" (Sutskever 2013):  v_{k+1} = beta v_k - alpha_k g_k;  w_{k+1} = w_k + v_{k+1}
    - "polyak"    (Polyak 1964):     w_{k+1} = w_k - alpha_k g_k + beta (w_k - w_{k-1})

    With a constant step all three give the same iterates. Under a schedule Sutskever and Polyak
    still agree (v_k = w_k - w_{k-1}) but PyTorch's differs: its step is
    w_{k+1} - w_k = beta (alpha_k / alpha_{k-1}) (w_k - w_{k-1}) - alpha_k g_k, a rescaled momentum.

    ``v0`` is the initial velocity w_0 - w_{-1} (default 0), e.g. to continue a run; for the PyTorch
    convention it sets z_0 = -v0 / alpha_0.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {CONVENTIONS}, got {convention!r}")
    x = as_tensor(x0, "x0")
    check_finite(x, "x0")
    alpha = as_real_scalar(alpha, "alpha")
    check_positive(alpha, "alpha")
    beta = _beta(beta)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    lrs = _step_sizes(alpha, schedule, steps)
    v = torch.zeros_like(x) if v0 is None else as_tensor(v0, "v0", dtype=x.dtype)
    if v.shape != x.shape:
        raise ValueError(f"v0: expected the shape of x0 {tuple(x.shape)}, got {tuple(v.shape)}")
    out = torch.empty((steps + 1,) + tuple(x.shape), dtype=x.dtype)
    out[0] = x
    if convention == "pytorch":
        z = -v / (lrs[0] if steps and lrs[0] > 0 else alpha)
        for k, lr in enumerate(lrs):
            z = beta * z + grad(x)
            x = x - lr * z
            out[k + 1] = x
    elif convention == "sutskever":
        for k, lr in enumerate(lrs):
            v = beta * v - lr * grad(x)
            x = x + v
            out[k + 1] = x
    else:
        prev = x - v
        for k, lr in enumerate(lrs):
            x, prev = x - lr * grad(x) + beta * (x - prev), x
            out[k + 1] = x
    return out


def iteration_matrix(alpha: float, beta: float, lam: float) -> torch.Tensor:
    """R = [[beta, lam], [-alpha beta, 1 - alpha lam]]: (z_{k+1}, w_{k+1}) = R (z_k, w_k) on 1/2 lam w^2.

    Returns a (2, 2) float64 tensor. Scalars of any real type; beta in [0, 1].
    """
    alpha, lam = as_real_scalar(alpha, "alpha"), as_real_scalar(lam, "lam")
    beta = _beta(beta)
    return torch.tensor([[beta, lam], [-alpha * beta, 1.0 - alpha * lam]], dtype=torch.float64)


def _finite_array(x, name: str) -> np.ndarray:
    """Any real scalar or array (Python, NumPy, tensor) as a float64 array; refuses bool/complex/NaN."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
    raw = np.asarray(x)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected real numbers, got dtype {raw.dtype}")
    a = raw.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite value(s)")
    return a


def _rate_of(al: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Spectral radius of R from the roots of mu^2 - t mu + beta, t = 1 + beta - alpha*lam."""
    t = 1.0 + beta - al
    disc = t * t - 4.0 * beta
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(t + root), np.abs(t - root)) / 2.0
    return np.where(disc < 0, np.sqrt(np.abs(beta)), real)


def rate(alpha, beta, lam):
    """rho(R): the factor by which heavy ball shrinks the error along an eigenvalue lam, per step.

    Vectorised (numpy broadcasting over alpha, beta, lam); returns a float for scalar input.
    Every beta must lie in [0, 1]; rate < 1 iff 0 < alpha lam < 2 + 2 beta and beta < 1.
    """
    al = _finite_array(alpha, "alpha") * _finite_array(lam, "lam")
    out = _rate_of(al, _betas(beta))
    return float(out) if out.ndim == 0 else out


def worst_rate(alpha: float, beta: float, lams) -> float:
    """max_i rate(alpha, beta, lam_i): the slowest eigen-direction sets the convergence of the whole."""
    lam = _finite_array(lams, "lams")
    if lam.size == 0:
        raise ValueError("lams: needs at least one eigenvalue")
    return float(np.max(rate(as_real_scalar(alpha, "alpha"), _beta(beta), lam)))


def _check_spectrum(lmin: float, lmax: float) -> tuple[float, float, float]:
    """(lmin, lmax, kappa) as floats, 0 < lmin <= lmax."""
    lmin, lmax = as_real_scalar(lmin, "lmin"), as_real_scalar(lmax, "lmax")
    check_positive(lmin, "lmin")
    check_positive(lmax, "lmax")
    if lmax < lmin:
        raise ValueError(f"lmax: must be >= lmin, got lmin={lmin}, lmax={lmax}")
    return lmin, lmax, lmax / lmin


def optimal_gd(lmin: float, lmax: float) -> tuple[float, float, float]:
    """Best plain gradient descent on eigenvalues in [lmin, lmax]: alpha = 2/(lmin+lmax), beta = 0.

    Returns (alpha, 0.0, rate) with rate = (kappa - 1)/(kappa + 1), kappa = lmax/lmin.
    """
    lmin, lmax, kappa = _check_spectrum(lmin, lmax)
    return 2.0 / (lmin + lmax), 0.0, (kappa - 1.0) / (kappa + 1.0)


def optimal_momentum(lmin: float, lmax: float) -> tuple[float, float, float]:
    """Best heavy ball on eigenvalues in [lmin, lmax] (Polyak):

    alpha = (2 / (sqrt(lmin) + sqrt(lmax)))^2,  beta = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2,
    rate = (sqrt(kappa) - 1)/(sqrt(kappa) + 1) = sqrt(beta).
    """
    lmin, lmax, kappa = _check_spectrum(lmin, lmax)
    s = math.sqrt(kappa)
    r = (s - 1.0) / (s + 1.0)
    return (2.0 / (math.sqrt(lmin) + math.sqrt(lmax))) ** 2, r * r, r


def regime(alpha_lam: float, beta: float, tol: float = 1e-9) -> str:
    """Name the behaviour of one eigen-direction at (alpha*lam, beta), as on Distill's map.

    - divergence: rate >= 1 (alpha lam <= 0, alpha lam >= 2 + 2 beta, or beta = 1);
    - ripples: complex eigenvalues, (1 - sqrt(beta))^2 < alpha lam < (1 + sqrt(beta))^2;
    - one-step convergence: R nilpotent (alpha lam = 1, beta = 0), within ``tol``;
    - monotone decrease: real eigenvalues, both positive (1 + beta - alpha lam > 0);
    - monotone oscillation: real eigenvalues, both negative (the error flips sign every step).

    Scalars of any real type; beta in [0, 1], any finite alpha_lam.
    """
    alpha_lam, beta = as_real_scalar(alpha_lam, "alpha_lam"), _beta(beta)
    tol = as_real_scalar(tol, "tol")
    if alpha_lam <= 0 or beta >= 1 or rate(alpha_lam, beta, 1.0) >= 1.0:
        return DIVERGENCE
    if abs(alpha_lam - 1.0) <= tol and beta <= tol:
        return ONE_STEP
    t = 1.0 + beta - alpha_lam
    if t * t - 4.0 * beta < 0:
        return RIPPLES
    return MONOTONE if t > 0 else OSCILLATION


def critical_damping(alpha_lam):
    """beta = (1 - sqrt(alpha lam))^2: the boundary between real and complex eigenvalues of R."""
    al = _finite_array(alpha_lam, "alpha_lam")
    if (al < 0).any():
        raise ValueError(f"alpha_lam: critical damping needs alpha*lam >= 0, got {al[al < 0].ravel()[0]}")
    return (1.0 - np.sqrt(al)) ** 2


def spectrum(kappa: float, n: int = 2, lmax: float = 1.0) -> np.ndarray:
    """n eigenvalues from lmax/kappa to lmax, geometrically spaced (n = 2: just the two ends)."""
    kappa, lmax = as_real_scalar(kappa, "kappa"), as_real_scalar(lmax, "lmax")
    check_range(kappa, "kappa", 1.0, 1e12)
    check_positive(lmax, "lmax")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n: need at least 2 eigenvalues, got {n!r}")
    return lmax * np.geomspace(1.0 / kappa, 1.0, n)


def empirical_rate(alpha: float, beta: float, lams, steps: int = 6000, chunk: int = 25) -> np.ndarray:
    """The convergence factor per eigenvalue, *measured* from heavy_ball iterates on 1/2 sum lam_i w_i^2.

    The run is split in chunks; after each the state (w_k, w_k - w_{k-1}) of every direction is
    rescaled to unit length (the problem is linear, so this changes nothing but avoids underflow)
    and the log of the scale is accumulated. The factor is exp of the growth of log||state|| between
    the two halves of the run, each measured by its maximum over a window of steps/8, which removes
    the oscillation of complex eigenvalues; a Jordan block's polynomial factor leaves an error of
    order rate/steps.
    """
    lam = torch.as_tensor(_finite_array(lams, "lams")).reshape(-1)
    if chunk < 2 or steps < 8 * chunk:
        raise ValueError(f"steps: need chunk >= 2 and at least 8 chunks, got steps={steps}, chunk={chunk}")
    w = torch.ones_like(lam)
    v = torch.zeros_like(lam)
    log_scale = torch.zeros_like(lam)
    logs = []
    for _ in range(steps // chunk):
        traj = heavy_ball(lambda x: lam * x, w, alpha, beta, chunk, convention="polyak", v0=v)
        prev = torch.cat([(w - v)[None], traj[:-1]])
        norms = torch.sqrt(traj**2 + (traj - prev) ** 2).clamp_min(1e-300)
        logs.append(log_scale + torch.log(norms[1:]))
        w, v = traj[-1], traj[-1] - traj[-2]
        s = torch.sqrt(w**2 + v**2).clamp_min(1e-300)
        w, v, log_scale = w / s, v / s, log_scale + torch.log(s)
    logs = torch.cat(logs)  # (steps, n): log ||state_k||, k = 1..steps
    half, window = logs.shape[0] // 2, logs.shape[0] // 8
    late = logs[-window:].max(dim=0).values
    mid = logs[half - window : half].max(dim=0).values
    return torch.exp((late - mid) / (logs.shape[0] - half)).numpy()


def quadratic_loss(traj: torch.Tensor, lams) -> torch.Tensor:
    """f(w_k) = 1/2 sum_i lam_i w_{k,i}^2 along a trajectory (steps+1, n) in the eigenbasis."""
    lam = torch.as_tensor(_finite_array(lams, "lams"), dtype=traj.dtype)
    return 0.5 * (traj**2 * lam).sum(dim=-1)


def torch_sgd(lams, x0, alpha: float, beta: float, steps: int,
              schedule: Callable[[int], float] | None = None) -> torch.Tensor:
    """The iterates of ``torch.optim.SGD(lr=alpha, momentum=beta)`` (with ``LambdaLR(schedule)``) on
    1/2 sum lam_i w_i^2: the reference the "pytorch" convention of ``heavy_ball`` must reproduce."""
    lam = torch.as_tensor(_finite_array(lams, "lams"))
    w = as_tensor(x0, "x0").detach().clone().to(lam.dtype).requires_grad_(True)
    opt = torch.optim.SGD([w], lr=alpha, momentum=beta)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule is not None else None
    out = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (lam * w**2).sum()).backward()
        opt.step()
        if sched is not None:
            sched.step()
        out.append(w.detach().clone())
    return torch.stack(out)


def best_on_grid(lmin: float, lmax: float, alpha_step: float = 1e-3, beta_step: float = 1e-3,
                 reach: int = 4, centre: tuple[float, float] | None = None,
                 worst: Callable[[float, float, list[float]], float] | None = None) -> tuple[float, float, float]:
    """The best heavy ball whose alpha and beta are multiples of the given steps (a slider's grid).

    The optimum (alpha*, beta*) of ``optimal_momentum`` sits where both ends of the spectrum are
    critically damped, on a square-root edge of the rate: rounding beta* *down* by a fraction of a
    step pushes one end out of the ripple band and costs far more than rounding it up. So instead of
    rounding each coordinate, this searches the (2 reach + 1)^2 grid points around (alpha*, beta*)
    and returns (alpha, beta, worst rate) of the best; ties (the rate is sqrt(beta) on a whole
    interval of alpha) go to the point nearest the optimum. ``centre`` and ``worst`` replace the
    optimum and ``worst_rate`` (e.g. Nesterov's standard setting and its worst rate).
    """
    alpha_step, beta_step = as_real_scalar(alpha_step, "alpha_step"), as_real_scalar(beta_step, "beta_step")
    check_positive(alpha_step, "alpha_step")
    check_positive(beta_step, "beta_step")
    if not isinstance(reach, int) or reach < 1:
        raise ValueError(f"reach: need an integer >= 1, got {reach!r}")
    a0, b0 = optimal_momentum(lmin, lmax)[:2] if centre is None else centre
    score = worst_rate if worst is None else worst
    best: tuple[float, float, float, float] | None = None
    for i in range(-reach, reach + 1):
        a = round((round(a0 / alpha_step) + i) * alpha_step, 12)
        for j in range(-reach, reach + 1):
            b = round((round(b0 / beta_step) + j) * beta_step, 12)
            if a <= 0 or not 0.0 <= b < 1.0:
                continue
            r = score(a, b, [lmin, lmax])
            dist = ((a - a0) / alpha_step) ** 2 + ((b - b0) / beta_step) ** 2
            if best is None or r < best[2] - 1e-12 or (abs(r - best[2]) <= 1e-12 and dist < best[3]):
                best = (a, b, r, dist)
    assert best is not None  # the centre point always qualifies (beta* < 1)
    return best[0], best[1], best[2]


def polyak_matrix(alpha: float, beta: float, lam: float) -> np.ndarray:
    """T = [[1 + beta - alpha lam, -beta], [1, 0]]: (w_{k+1}, w_k) = T (w_k, w_{k-1}) along lam, (2, 2).

    The same iteration as ``iteration_matrix`` (similar matrices, same eigenvalues, same rate),
    written on the two last iterates, so T^k applied to (w_0, w_0) (a start at rest) gives w_k.
    """
    alpha, lam = as_real_scalar(alpha, "alpha"), as_real_scalar(lam, "lam")
    beta = _beta(beta)
    return np.array([[1.0 + beta - alpha * lam, -beta], [1.0, 0.0]])


def power_norms(matrix, steps: int) -> np.ndarray:
    """||M^k||_2 (largest singular value) for k = 0..steps of a square matrix M; shape (steps + 1,).

    For a normal matrix this is rho(M)^k; for a non-normal one (heavy ball's T, a Jordan block at
    critical damping) it can grow for a while before rho^k takes over.
    """
    m = _finite_array(matrix, "matrix")
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix: expected a square matrix, got shape {m.shape}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    out = np.empty(steps + 1)
    p = np.eye(m.shape[0])
    for k in range(steps + 1):
        out[k] = np.linalg.norm(p, 2)
        p = m @ p
    return out
