"""A CURVES-like problem at CPU scale: images of random smooth curves and a deep autoencoder.

Martens (2010) used CURVES (Hinton & Salakhutdinov 2006): 28x28 images of curves drawn
through three random points, compressed by a 784-400-200-100-50-25-6 encoder and its mirror.
Here, nothing is downloaded: each image is a quadratic Bezier curve through three random
control points, drawn with a soft pen (Gaussian profile, width ``pen`` pixels) on a ``side`` x ``side``
grid, intensity in [0, 1]. Six numbers describe a curve, so a 6-number code can in principle hold it.

The autoencoder: logistic hidden units, a linear code layer and logistic outputs (as Martens),
squared error summed over pixels and averaged over images; sparse initialisation (each unit gets
``fan_in_nonzero`` N(0, 1) incoming weights, the rest zero, biases zero), Martens' choice for deep
nets trained from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

SIDE = 10
SIZES = (SIDE * SIDE, 48, 24, 12, 6)


def curve_images(n: int, side: int = SIDE, pen: float = 0.6, points: int = 40, seed: int = 0) -> torch.Tensor:
    """(n, side*side) images of quadratic Bezier curves through 3 random control points."""
    if not isinstance(n, int) or n < 1 or side < 4:
        raise ValueError(f"n, side: need n >= 1 and side >= 4, got n={n!r}, side={side!r}")
    if not pen > 0:
        raise ValueError(f"pen: width must be positive, got {pen}")
    g = torch.Generator().manual_seed(seed)
    ctrl = 1.0 + torch.rand(n, 3, 2, generator=g, dtype=torch.float64) * (side - 3)
    t = torch.linspace(0.0, 1.0, points, dtype=torch.float64)[None, :, None]
    curve = (1 - t) ** 2 * ctrl[:, None, 0] + 2 * t * (1 - t) * ctrl[:, None, 1] + t**2 * ctrl[:, None, 2]
    r = torch.arange(side, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(r, r, indexing="xy"), dim=-1).reshape(-1, 2)  # (pixels, 2) as (x, y)
    d2 = ((grid[None, :, None, :] - curve[:, None, :, :]) ** 2).sum(-1)  # (n, pixels, points)
    img = torch.exp(-d2.min(dim=2).values / (2 * pen**2))
    # far from the pen exp() underflows to subnormal numbers, which make every product with the
    # data ~100x slower on a CPU; ink below 1e-6 is cut to exactly 0
    return torch.where(img < 1e-6, 0.0, img)


def autoencoder(sizes: Sequence[int] = SIZES, seed: int = 0, fan_in_nonzero: int = 15) -> nn.Sequential:
    """Encoder sizes[0] -> ... -> sizes[-1] (linear code) and its mirror image, logistic elsewhere."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes: need at least two positive layer widths, got {sizes}")
    widths = list(sizes) + list(sizes[-2::-1])
    code = len(sizes) - 1
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for j in range(len(widths) - 1):
        lin = nn.Linear(widths[j], widths[j + 1], dtype=torch.float64)
        with torch.no_grad():
            w = torch.zeros(widths[j + 1], widths[j], dtype=torch.float64)
            k = min(fan_in_nonzero, widths[j])
            for row in range(widths[j + 1]):
                cols = torch.randperm(widths[j], generator=g)[:k]
                w[row, cols] = torch.randn(k, generator=g, dtype=torch.float64)
            lin.weight.copy_(w)
            lin.bias.zero_()
        layers.append(lin)
        if j + 1 != code:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)
