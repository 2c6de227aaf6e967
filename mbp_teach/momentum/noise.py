"""Heavy ball (and Nesterov) with noisy gradients on a quadratic: the noise floor, derived and simulated.

With g_k = lam w_k + sigma xi_k (xi_k independent, mean 0, variance 1) heavy ball along one eigenvalue is

    w_{k+1} = t w_k - b w_{k-1} - alpha sigma xi_k,    t = 1 + b - alpha lam,

an AR(2) process (b = beta for heavy ball; b = beta (1 - alpha lam) for Nesterov, whose noise enters the
same way). Once it is stationary, gamma0 = E w_k^2 and gamma1 = E w_k w_{k-1} satisfy
gamma1 = t gamma0 - b gamma1 and gamma0 = (t^2 + b^2) gamma0 - 2 t b gamma1 + alpha^2 sigma^2, whence

    gamma0 = alpha sigma^2 (1 + b) / ((1 - b) lam (2 + 2 b - alpha lam)),

and the expected loss of that direction is lam gamma0 / 2. For small alpha lam this is about
alpha sigma^2 / (4 (1 - b)): momentum multiplies the noise floor by 1/(1 - b), as a step alpha / (1 - b) would.
The noise sequence of a run is fixed by its seed, so a slider move is deterministic.
"""

from __future__ import annotations

import numpy as np

from mbp_teach.momentum import heavy_ball as mom
from mbp_teach.momentum import nesterov as nag
from mbp_teach.validation import as_real_scalar, check_positive

METHODS = ("heavy ball", "nesterov")


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    return method


def noise_sequence(seed: int, steps: int, n: int) -> np.ndarray:
    """xi_k, k = 0..steps-1, shape (steps, n): standard normal, the same for the same seed."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed)).standard_normal((steps, n))


def stationary_variance(alpha, beta, lam, sigma, method: str = "heavy ball"):
    """E w^2 once the noisy iteration is stationary, per eigenvalue (broadcasts over lam).

    gamma0 = alpha sigma^2 (1 + b) / ((1 - b) lam (2 + 2 b - alpha lam)), b the (effective) momentum.
    Raises ValueError where the noiseless iteration does not converge (no stationary state).
    """
    _check_method(method)
    alpha, sigma = as_real_scalar(alpha, "alpha"), as_real_scalar(sigma, "sigma")
    check_positive(alpha, "alpha")
    if sigma < 0:
        raise ValueError(f"sigma: must be >= 0, got {sigma}")
    lam = mom._finite_array(lam, "lam")
    r = mom.rate(alpha, beta, lam) if method == "heavy ball" else nag.rate(alpha, beta, lam)
    if np.any(np.asarray(r) >= 1.0):
        raise ValueError("alpha, beta: the iteration does not converge for every lam, so it has no stationary state")
    b = mom._beta(beta) if method == "heavy ball" else nag.effective_momentum(alpha, beta, lam)
    al = alpha * lam
    return alpha * sigma**2 * (1.0 + b) / ((1.0 - b) * lam * (2.0 + 2.0 * b - al))


def stationary_loss(alpha, beta, lams, sigma, method: str = "heavy ball") -> float:
    """E f(w) = sum_i lam_i gamma0_i / 2 once stationary: the noise floor of the loss."""
    lam = mom._finite_array(lams, "lams")
    return float(np.sum(0.5 * lam * stationary_variance(alpha, beta, lam, sigma, method)))


def run(alpha: float, beta: float, lams, sigma: float, steps: int, seeds, w0=None,
        method: str = "heavy ball") -> np.ndarray:
    """Noisy runs from w0 (default all ones) at rest, one per seed: iterates, shape (len(seeds), steps + 1, n).

    Heavy ball: w_{k+1} = w_k - alpha g_k + beta (w_k - w_{k-1}), g_k = lam w_k + sigma xi_k;
    Nesterov: y_k = w_k + beta (w_k - w_{k-1}), w_{k+1} = y_k - alpha (lam y_k + sigma xi_k).
    xi of seed s is ``noise_sequence(s, steps, n)``.
    """
    _check_method(method)
    alpha, sigma = as_real_scalar(alpha, "alpha"), as_real_scalar(sigma, "sigma")
    check_positive(alpha, "alpha")
    if sigma < 0:
        raise ValueError(f"sigma: must be >= 0, got {sigma}")
    beta = mom._beta(beta)
    lam = mom._finite_array(lams, "lams").reshape(-1)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    xi = np.stack([noise_sequence(s, steps, lam.size) for s in seeds])  # (S, steps, n)
    w = np.ones((len(seeds), lam.size)) if w0 is None else np.broadcast_to(
        mom._finite_array(w0, "w0"), (len(seeds), lam.size)).copy()
    prev = w.copy()
    out = np.empty((len(seeds), steps + 1, lam.size))
    out[:, 0] = w
    for k in range(steps):
        if method == "heavy ball":
            w, prev = w - alpha * (lam * w + sigma * xi[:, k]) + beta * (w - prev), w
        else:
            y = w + beta * (w - prev)
            w, prev = y - alpha * (lam * y + sigma * xi[:, k]), w
        out[:, k + 1] = w
    return out
