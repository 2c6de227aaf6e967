"""A per-correspondence inlier scorer with context normalisation (after Yi et al., CVPR 2018).

Each correspondence (x1, x2) goes through the same small MLP (a 1x1 convolution over the set).
Alone, one correspondence cannot tell whether it is an inlier; *context normalisation*,
h <- (h - mean_N h) / std_N h per channel over the N correspondences of the same image pair,
lets every unit compare a correspondence with the rest of its pair: inliers share one epipolar
geometry (a coherent motion), outliers do not. The output is one logit per correspondence;
softmax(logits) over a pair is the sampling distribution of minimal sets.
"""

from __future__ import annotations

import torch
from torch import nn


class ContextNorm(nn.Module):
    """(B, C, N) -> per pair and channel, zero mean and unit variance over the N correspondences."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        mean = h.mean(-1, keepdim=True)
        var = h.var(-1, keepdim=True, unbiased=False)
        return (h - mean) / torch.sqrt(var + self.eps)


class ResidualBlock(nn.Module):
    """h + W2 relu(CN(W1 relu(CN(h)))): pre-activation residual block over correspondences."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(ContextNorm(), nn.ReLU(), nn.Conv1d(width, width, 1),
                                  ContextNorm(), nn.ReLU(), nn.Conv1d(width, width, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class OutlierFilter(nn.Module):
    """Logits (B, N) of being an inlier for correspondences x1, x2 (B, N, 2).

    ``width`` channels, ``blocks`` residual blocks. The input per correspondence is
    (x1, x2, x2 - x1): the displacement is a linear function of the rest, given explicitly
    because it is what context normalisation compares best.
    """

    def __init__(self, width: int = 32, blocks: int = 3):
        super().__init__()
        if width < 1 or blocks < 0:
            raise ValueError(f"width must be >= 1 and blocks >= 0, got {width}, {blocks}")
        self.stem = nn.Conv1d(6, width, 1)
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.head = nn.Sequential(ContextNorm(), nn.ReLU(), nn.Conv1d(width, 1, 1))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        if x1.shape != x2.shape or x1.dim() != 3 or x1.shape[-1] != 2:
            raise ValueError(f"x1, x2: expected equal shapes (B, N, 2), got {tuple(x1.shape)} and {tuple(x2.shape)}")
        h = torch.cat([x1, x2, x2 - x1], dim=-1).transpose(1, 2)  # (B, 6, N)
        return self.head(self.blocks(self.stem(h))).squeeze(1)
