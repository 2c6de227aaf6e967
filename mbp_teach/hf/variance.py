"""How noisy is a gradient estimated on a sample? The motivation for growing samples (Byrd et al. 2012).

With per-example gradients g_1..g_N (N, P), the full gradient g = mean_i g_i, and a sample S of s examples
drawn without replacement, the sample gradient g_S = mean_{i in S} g_i is unbiased and

    E ||g_S - g||^2 = (N - s) / (s (N - 1)) * sigma^2,     sigma^2 = mean_i ||g_i - g||^2,

so its relative error E||g_S - g||^2 / ||g||^2 falls like 1/s and is exactly 0 at s = N. Early in training
||g|| is large and a small sample points downhill; near a minimum ||g|| shrinks and the same sample is
mostly noise, so the sample must grow.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mbp_teach.hf.curvature import ModuleObjective


def per_example_gradients(objective: ModuleObjective, theta: torch.Tensor | None = None) -> torch.Tensor:
    """(N, P) gradients of each example's loss at ``theta`` (default: the model's current parameters).

    Their mean is the gradient of the objective (the loss averages over examples)."""
    theta = objective.get_params() if theta is None else theta.detach()
    x, t = objective.inputs, objective.targets

    def one(th: torch.Tensor, xi: torch.Tensor, ti: torch.Tensor) -> torch.Tensor:
        return objective.loss_fn(objective.outputs(th, xi[None]), ti[None])

    return torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(theta, x, t)


def _check(per: torch.Tensor, sizes: Sequence[int]) -> int:
    if per.dim() != 2 or per.shape[0] < 2:
        raise ValueError(f"per: need (N, P) per-example gradients with N >= 2, got shape {tuple(per.shape)}")
    n = per.shape[0]
    if not sizes or any(not isinstance(s, int) or s < 1 or s > n for s in sizes):
        raise ValueError(f"sizes: need sample sizes that are integers in [1, {n}], got {list(sizes)}")
    return n


def predicted_error(per: torch.Tensor, sizes: Sequence[int]) -> list[float]:
    """E ||g_S - g||^2 / ||g||^2 for each sample size s in ``sizes`` (formula in the module doc)."""
    n = _check(per, sizes)
    g = per.mean(0)
    sigma2 = float(((per - g) ** 2).sum(1).mean())
    return [(n - s) / (s * (n - 1)) * sigma2 / float(g @ g) for s in sizes]


def measured_error(per: torch.Tensor, sizes: Sequence[int], draws: int = 200, seed: int = 0) -> list[float]:
    """The same relative error averaged over ``draws`` random samples per size (a check of the formula)."""
    n = _check(per, sizes)
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws: need a positive integer, got {draws!r}")
    gen = torch.Generator().manual_seed(seed)
    g = per.mean(0)
    out = []
    for s in sizes:
        # one sample at a time: a (draws, s, P) gather would hold draws * s * P numbers at once
        err = sum(float(((per[torch.randperm(n, generator=gen)[:s]].mean(0) - g) ** 2).sum()) for _ in range(draws))
        out.append(err / draws / float(g @ g))
    return out
