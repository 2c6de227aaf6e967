"""Small problems written as a module plus a loss, so HF's Gauss-Newton applies to them too.

* Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 = ||r||^2 with residuals
  r = (1 - x, 10 (y - x^2)): the "network" outputs r, the loss is sum r_i^2, and Gauss-Newton is
  2 J^T J -- Levenberg-Marquardt, exactly.
* A convex quadratic 1/2 ||L theta - c||^2: Gauss-Newton = Hessian = L^T L.
"""

from __future__ import annotations

import torch
from torch import nn

from .curvature import ModuleObjective, sum_squared_error

ROSENBROCK_START = (-1.2, 1.0)


class RosenbrockResiduals(nn.Module):
    def __init__(self, start=ROSENBROCK_START):
        super().__init__()
        self.xy = nn.Parameter(torch.tensor(start, dtype=torch.float64))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, y = self.xy[0], self.xy[1]
        r = torch.stack([1 - x, 10 * (y - x**2)])
        return r.expand(inputs.shape[0], 2)


def squared_norm(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """sum_i (z_i - t_i)^2 averaged over rows (for Rosenbrock: one row, t = 0)."""
    return ((z - t) ** 2).reshape(z.shape[0], -1).sum(dim=1).mean()


def rosenbrock(xy) -> torch.Tensor:
    """The function itself on (..., 2) points (for contour plots)."""
    xy = torch.as_tensor(xy, dtype=torch.float64)
    return (1 - xy[..., 0]) ** 2 + 100 * (xy[..., 1] - xy[..., 0] ** 2) ** 2


def rosenbrock_objective(start=ROSENBROCK_START) -> ModuleObjective:
    z = torch.zeros(1, 2, dtype=torch.float64)
    return ModuleObjective(RosenbrockResiduals(start), squared_norm, z, z)


class Linear(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(dim, dtype=torch.float64))

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return L @ self.theta  # one "example" per row of L


def quadratic_objective(L: torch.Tensor, c: torch.Tensor) -> ModuleObjective:
    """F(theta) = 1/2 sum_rows (L theta - c)^2 (no averaging: each row is a residual of one example)."""
    n = L.shape[0]
    loss = lambda z, t: 0.5 * n * ((z - t) ** 2).mean()
    return ModuleObjective(Linear(L.shape[1]), loss, L, c)
