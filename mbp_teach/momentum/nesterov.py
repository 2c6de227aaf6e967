"""Nesterov's accelerated gradient on quadratics, read as heavy ball with a per-direction momentum.

The iteration (Nesterov 1983; in the form of Sutskever et al. 2013, constant step alpha, momentum beta):

    y_k = w_k + beta (w_k - w_{k-1}),    w_{k+1} = y_k - alpha grad f(y_k).

Along an eigenvalue lam of a quadratic, grad f(y) = lam y, so

    w_{k+1} = (1 + beta)(1 - alpha lam) w_k - beta (1 - alpha lam) w_{k-1},

whose companion matrix N = [[(1 + beta)(1 - alpha lam), -beta (1 - alpha lam)], [1, 0]] has the
characteristic polynomial mu^2 - (1 + beta)(1 - alpha lam) mu + beta (1 - alpha lam). With
b = beta (1 - alpha lam) it reads mu^2 - (1 + b - alpha lam) mu + b: heavy ball's polynomial with the
*effective momentum* b. Nesterov damps the
momentum of stiff directions (b < beta, and b < 0 once alpha lam > 1). Its rate along lam is heavy ball's
rate at (alpha lam, b); with alpha = 1/lmax, beta = (sqrt(kappa) - 1)/(sqrt(kappa) + 1) the slowest direction
is critically damped at rate 1 - 1/sqrt(kappa) and the stiffest converges in one step.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mbp_teach.momentum import heavy_ball as mom
from mbp_teach.validation import as_real_scalar, as_tensor, check_finite, check_positive


def effective_momentum(alpha, beta, lam):
    """b = beta (1 - alpha lam): the heavy-ball momentum Nesterov's iteration has along lam (broadcasts)."""
    al = mom._finite_array(alpha, "alpha") * mom._finite_array(lam, "lam")
    out = mom._betas(beta) * (1.0 - al)
    return float(out) if out.ndim == 0 else out


def rate(alpha, beta, lam):
    """Spectral radius of N: the factor by which Nesterov shrinks the error along lam per step (broadcasts).

    The roots of mu^2 - (1 + b - alpha lam) mu + b, b = beta (1 - alpha lam); b may be negative (real roots).
    """
    al = mom._finite_array(alpha, "alpha") * mom._finite_array(lam, "lam")
    out = mom._rate_of(al, mom._betas(beta) * (1.0 - al))
    return float(out) if out.ndim == 0 else out


def worst_rate(alpha: float, beta: float, lams) -> float:
    """max_i rate(alpha, beta, lam_i), the slowest direction's rate."""
    lam = mom._finite_array(lams, "lams")
    if lam.size == 0:
        raise ValueError("lams: needs at least one eigenvalue")
    return float(np.max(rate(as_real_scalar(alpha, "alpha"), mom._beta(beta), lam)))


def iteration_matrix(alpha: float, beta: float, lam: float) -> np.ndarray:
    """N = [[(1 + beta)(1 - alpha lam), -beta (1 - alpha lam)], [1, 0]] on (w_k, w_{k-1}), shape (2, 2)."""
    alpha, lam = as_real_scalar(alpha, "alpha"), as_real_scalar(lam, "lam")
    beta = mom._beta(beta)
    s = 1.0 - alpha * lam
    return np.array([[(1.0 + beta) * s, -beta * s], [1.0, 0.0]])


def standard_setting(lmin: float, lmax: float) -> tuple[float, float, float]:
    """alpha = 1/lmax, beta = (sqrt(kappa) - 1)/(sqrt(kappa) + 1) and its rate 1 - 1/sqrt(kappa).

    At lmin, (1 + beta)^2 (1 - alpha lmin) = 4 beta: a double root (1 + beta)(1 - 1/kappa)/2 = 1 - 1/sqrt(kappa);
    at lmax, 1 - alpha lmax = 0 and N is nilpotent. Every lam in between converges at least as fast.
    """
    lmin, lmax, kappa = mom._check_spectrum(lmin, lmax)
    s = math.sqrt(kappa)
    return 1.0 / lmax, (s - 1.0) / (s + 1.0), 1.0 - 1.0 / s


def nesterov(grad, x0, alpha: float, beta: float, steps: int) -> torch.Tensor:
    """The iterates w_0..w_steps, shape (steps + 1, *x0.shape), starting at rest (w_{-1} = w_0)."""
    x = as_tensor(x0, "x0")
    check_finite(x, "x0")
    alpha = as_real_scalar(alpha, "alpha")
    check_positive(alpha, "alpha")
    beta = mom._beta(beta)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    out = torch.empty((steps + 1,) + tuple(x.shape), dtype=x.dtype)
    out[0] = x
    prev = x
    for k in range(steps):
        y = x + beta * (x - prev)
        x, prev = y - alpha * grad(y), x
        out[k + 1] = x
    return out
