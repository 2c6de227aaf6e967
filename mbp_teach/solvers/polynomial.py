"""Polynomial roots as eigenvalues: the trick every minimal solver is built on.

For p(x) = c_0 x^d + c_1 x^(d-1) + ... + c_d with c_0 != 0, the companion matrix

    C = [[-c_1/c_0, -c_2/c_0, ..., -c_d/c_0],
         [ 1,        0,       ...,  0      ],
         [ 0,        1,       ...,  0      ],
         ...
         [ 0,        ...,      1,   0      ]]

satisfies C v = x v for v = (x^(d-1), ..., x, 1) exactly when p(x) = 0, so the roots of p are
the eigenvalues of C. The 5-point solver does the same with a 10x10 "action matrix" that
multiplies polynomials in three unknowns by x.

``polynomial_residual`` is what one real root satisfies: notebook 02 differentiates a root with it, the
implicit function theorem in one variable. ``companion_roots`` has no ``SolverSpec`` (no ``backward=``
switch: its output is complex, all d roots in LAPACK's order); the benchmark times it on its own.
"""

from __future__ import annotations

import torch

from mbp_teach import validation as val
from mbp_teach.solvers._checks import fail_where, supported_dtype


def companion_matrix(coeffs) -> torch.Tensor:
    """The (..., d, d) companion matrix of polynomials with coefficients (..., d+1), highest first."""
    c = val.as_tensor(coeffs, "coeffs")
    supported_dtype(c, "coeffs")
    val.check_shape(c, "coeffs", (None,))
    if c.shape[-1] < 2:
        raise ValueError(f"coeffs: a polynomial of degree >= 1 needs at least 2 coefficients, got {c.shape[-1]}")
    val.check_finite(c, "coeffs")
    fail_where(c[..., 0] == 0, "coeffs: leading coefficient is zero (the degree is lower than the length says)")
    d = c.shape[-1] - 1
    top = -(c[..., 1:] / c[..., :1]).unsqueeze(-2)  # (..., 1, d)
    shift = torch.eye(d - 1, d, dtype=c.dtype, device=c.device).expand(*c.shape[:-1], d - 1, d)
    return torch.cat([top, shift], dim=-2)


def companion_roots(coeffs) -> torch.Tensor:
    """All d complex roots (..., d) of p(x) = sum_k coeffs[k] x^(d-k), as eigenvalues of the companion matrix.

    Differentiable with autograd (through ``torch.linalg.eigvals``) away from repeated roots.
    The order of the roots is LAPACK's, not sorted.
    """
    return torch.linalg.eigvals(companion_matrix(coeffs))


def polynomial_residual(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """F(c, x) = sum_k c_k x^(d-k) (highest degree first), shape (..., 1): a root x(c) solves F = 0.

    x (..., 1), coeffs (..., d+1). The one-variable IFT: dx/dc_k = -F_c / F_x = -x^(d-k) / p'(x), finite at
    every simple root.
    """
    d = coeffs.shape[-1] - 1
    powers = x[..., :1] ** torch.arange(d, -1, -1, dtype=x.dtype, device=x.device)
    return (coeffs * powers).sum(-1, keepdim=True)
