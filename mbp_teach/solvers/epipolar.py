"""Epipolar geometry shared by the 8-point and 5-point solvers.

A correspondence x1 <-> x2 (image points in the two views) satisfies x2h^T F x1h = 0 with
homogeneous xh = (x, y, 1). The equation is linear in the nine entries of F, row-major:
x2h^T F x1h = kron(x2h, x1h) . vec(F), so N correspondences give an N x 9 matrix whose
null space holds F (8 points) or a 4-dimensional family of essential matrices (5 points).
"""

from __future__ import annotations

import torch


def homogeneous(x: torch.Tensor) -> torch.Tensor:
    """(..., N, 2) -> (..., N, 3) by appending a 1."""
    return torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)


def epipolar_rows(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Rows kron(x2h, x1h) of the linear epipolar system, (..., N, 9): row . vec(F) = x2h^T F x1h."""
    a, b = homogeneous(x1), homogeneous(x2)
    return (b.unsqueeze(-1) * a.unsqueeze(-2)).flatten(-2)


def epipolar_residuals(F: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Algebraic residuals x2h^T F x1h, (..., N); batch dims broadcast (unsqueeze x1, x2 for several F per problem)."""
    return torch.einsum("...ni,...ij,...nj->...n", homogeneous(x2), F, homogeneous(x1))


def sampson_distance(F: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """First-order geometric error (x2h^T F x1h)^2 / (|(F x1h)_12|^2 + |(F^T x2h)_12|^2), (..., N).

    In the units of x1, x2 squared (pixels^2 for pixel coordinates and F).
    """
    a, b = homogeneous(x1), homogeneous(x2)
    Fa = torch.einsum("...ij,...nj->...ni", F, a)
    Fb = torch.einsum("...ji,...nj->...ni", F, b)
    r = (b * Fa).sum(-1)
    den = Fa[..., 0] ** 2 + Fa[..., 1] ** 2 + Fb[..., 0] ** 2 + Fb[..., 1] ** 2
    return r**2 / den.clamp_min(torch.finfo(den.dtype).tiny)


def det3(E: torch.Tensor) -> torch.Tensor:
    """det E = e1 . (e2 x e3) for the rows e_k of E (..., 3, 3): a polynomial, so jacrev/vmap need no LU
    (the rank-2 constraint of the 8-point node and an equation of the essential residual)."""
    return (E[..., 0, :] * torch.linalg.cross(E[..., 1, :], E[..., 2, :])).sum(-1)
