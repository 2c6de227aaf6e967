"""What separates an easy autoencoder from a pathological one: the spread of the Gauss-Newton spectrum.

A first-order method with step eta is stable only if eta < 2 / lambda_max(G) (G the Gauss-Newton matrix,
which equals the Hessian at a perfect fit). Along an eigenvector of G with eigenvalue lambda, one step
then shrinks the error by a factor (1 - eta lambda) >= 1 - 2 lambda / lambda_max: directions whose
curvature is a small fraction of lambda_max are barely moved. The ratio

    spread = lambda_max / (tr G / P)        (P parameters; tr G / P the mean eigenvalue)

says how far the typical direction sits below the largest: the larger it is, the more steps a
first-order method needs, while Newton-like steps (G + lambda I)^{-1} g rescale every direction at once.

``lambda_max`` and the top of the spectrum come from Lanczos on Gauss-Newton products (never forming
G, P x P); the trace from Hutchinson's estimator tr G = E[z^T G z] with random signs z.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mbp_teach.hf.curvature import ModuleObjective


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, steps: int, seed: int = 0,
            dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Ritz values (ascending, ``min(steps, dim)`` of them) of a symmetric map v (dim,) -> A v (dim,).

    Lanczos builds an orthonormal basis Q (dim, k) of the Krylov space of a random start vector, with
    full re-orthogonalisation (k is small), and returns the eigenvalues of T = Q^T A Q (k x k,
    tridiagonal). The largest Ritz values converge to A's largest eigenvalues first."""
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim: need a positive integer, got {dim!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: need a positive integer, got {steps!r}")
    k = min(steps, dim)
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(dim, generator=g, dtype=dtype)
    basis = [q / q.norm()]
    alpha: list[float] = []
    beta: list[float] = []
    for j in range(k):
        w = matvec(basis[j])
        alpha.append(float(w @ basis[j]))
        qs = torch.stack(basis, dim=1)
        w = w - qs @ (qs.T @ w)
        w = w - qs @ (qs.T @ w)  # twice: one pass of Gram-Schmidt leaves round-off-sized overlaps
        b = float(w.norm())
        if j == k - 1 or b <= 1e-12 * max(1.0, abs(alpha[0])):
            break  # the Krylov space is exhausted: T's eigenvalues are exact
        beta.append(b)
        basis.append(w / b)
    t = np.diag(alpha) + np.diag(beta[: len(alpha) - 1], 1) + np.diag(beta[: len(alpha) - 1], -1)
    return np.linalg.eigvalsh(t)


def hutchinson_trace(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, probes: int = 20, seed: int = 0,
                     dtype: torch.dtype = torch.float64) -> float:
    """tr A ~ 1/k sum_j z_j^T A z_j over ``probes`` vectors z_j of independent random signs (exact in
    expectation: E[z z^T] = I)."""
    if not isinstance(probes, int) or probes < 1:
        raise ValueError(f"probes: need a positive integer, got {probes!r}")
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(probes):
        z = torch.randint(0, 2, (dim,), generator=g).to(dtype) * 2 - 1
        total += float(z @ matvec(z))
    return total / probes


@dataclass(frozen=True)
class Spectrum:
    """The Gauss-Newton spectrum of one objective at its current weights."""

    ritz: np.ndarray  # (k,) Lanczos Ritz values, ascending: the top of the spectrum
    trace: float  # Hutchinson estimate of tr G
    dim: int  # P, the number of parameters

    @property
    def lambda_max(self) -> float:
        return float(self.ritz[-1])

    @property
    def mean(self) -> float:
        """tr G / P: the mean eigenvalue."""
        return self.trace / self.dim

    @property
    def spread(self) -> float:
        """lambda_max / (tr G / P)."""
        return self.lambda_max / self.mean


def gauss_newton_spectrum(objective: ModuleObjective, steps: int = 30, probes: int = 20, seed: int = 0) -> Spectrum:
    """Lanczos (``steps``) and Hutchinson (``probes``) on G at the objective's current weights, all examples."""
    product = objective.gauss_newton(objective.get_params())
    return Spectrum(lanczos(product, objective.dim, steps, seed), hutchinson_trace(product, objective.dim, probes, seed),
                    objective.dim)


def layer_curvatures(objective: ModuleObjective, probes: int = 10, seed: int = 0) -> np.ndarray:
    """(layers,) mean Gauss-Newton curvature per weight matrix, input side first: tr G_ll / P_l.

    G_ll is the diagonal block of G for layer l's weight matrix (P_l entries), its trace estimated by
    Hutchinson with random signs on that block only (zero elsewhere). With a step eta < 2 / lambda_max,
    a layer whose mean curvature is a small fraction of lambda_max is barely trained by a first-order
    method: the ratio between the last and first layer's value is the spread across depth."""
    theta = objective.get_params()
    product = objective.gauss_newton(theta)
    offsets = np.cumsum([0, *objective.sizes])
    g = torch.Generator().manual_seed(seed)
    out = []
    for name, start, stop in zip(objective.names, offsets[:-1], offsets[1:], strict=True):
        if not name.endswith("weight"):
            continue
        total = 0.0
        for _ in range(probes):
            z = torch.zeros_like(theta)
            z[start:stop] = torch.randint(0, 2, (int(stop - start),), generator=g).to(theta.dtype) * 2 - 1
            total += float(z @ product(z))
        out.append(total / probes / (stop - start))
    return np.array(out)
