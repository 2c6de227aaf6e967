"""Drawing minimal sets by learned scores: Gumbel top-k with a straight-through selection.

Adding independent Gumbel noise g_j = -log(-log u_j) to logits l_j and keeping the k largest
draws k distinct indices, in order, from the Plackett-Luce distribution: the m-th pick is j with
probability exp(l_j) / sum_{i not yet picked} exp(l_i). Its log-probability (a sum of log-softmax
terms over the shrinking pool) is what a score-function (REINFORCE / DSAC) gradient needs.

For a pathwise gradient through the solver, the m-th picked point is written as S_m @ X with
S_m the one-hot row of the pick in the forward pass and, in the backward pass, the Gumbel-softmax
row softmax((l + g) / tau) over the remaining pool (the straight-through estimator of
Jang et al. 2017, used by nabla-RANSAC and MinBackProp). So the solver sees the exact sampled
points, and the network receives d loss / d x of the solver's input. The soft row is not the
derivative of the one-hot pick, so this pathwise gradient is biased; ``train`` can add it to the
unbiased score-function gradient, use it alone, or leave it out (``train.GRADIENTS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mbp_teach import validation as val


@dataclass
class MinimalSets:
    """K minimal sets of size m per problem, drawn without replacement within a set."""

    index: torch.Tensor  # (B, K, m) long: the picked correspondences, in draw order
    log_prob: torch.Tensor  # (B, K): log-probability of the ordered draw (differentiable in the logits)
    selection: torch.Tensor  # (B, K, m, N): one-hot forward, Gumbel-softmax backward

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """The picked points (B, K, m, D) of x (B, N, D), differentiable through ``selection``."""
        return self.selection @ x.unsqueeze(1)


def gumbel(shape, generator: torch.Generator | None, dtype=torch.float64) -> torch.Tensor:
    """Standard Gumbel noise -log(-log u), u uniform in (0, 1)."""
    u = torch.rand(shape, generator=generator, dtype=dtype)
    tiny = torch.finfo(dtype).tiny
    e = (-torch.log(u.clamp_min(tiny))).clamp_min(tiny)  # Exp(1) noise, kept away from 0
    return -torch.log(e)


def draw_minimal_sets(logits: torch.Tensor, n_sets: int, set_size: int = 5, *, tau: float = 1.0,
                      generator: torch.Generator | None = None) -> MinimalSets:
    """Draw ``n_sets`` minimal sets of ``set_size`` distinct correspondences per row of ``logits`` (B, N).

    Probabilities are softmax(logits) (uniform sampling when the logits are equal); ``tau`` is the
    Gumbel-softmax temperature of the straight-through backward.
    """
    logits = val.as_tensor(logits, "logits")
    val.check_shape(logits, "logits", (None, None), min_dims=2)
    if logits.dim() != 2:
        raise ValueError(f"logits: expected shape (B, N), got {tuple(logits.shape)}")
    if not isinstance(n_sets, int) or n_sets < 1:
        raise ValueError(f"n_sets: need a positive integer, got {n_sets!r}")
    B, N = logits.shape
    if N < set_size:
        raise ValueError(f"logits: too few correspondences to draw a minimal set, need at least {set_size}, got {N}")
    val.check_finite(logits.detach(), "logits")
    val.check_positive(float(tau), "tau")
    g = gumbel((B, n_sets, N), generator, logits.dtype)
    noisy = logits.unsqueeze(1) + g  # (B, K, N)
    index = noisy.detach().topk(set_size, dim=-1).indices  # (B, K, m): Plackett-Luce order

    lp = logits.unsqueeze(1).expand(B, n_sets, N)
    picked = torch.zeros(B, n_sets, N, dtype=torch.bool)
    log_prob = torch.zeros(B, n_sets, dtype=logits.dtype)
    rows = []
    neg = torch.finfo(logits.dtype).min
    for m in range(set_size):
        j = index[..., m]
        pool = torch.where(picked, torch.full_like(lp, neg), lp)
        log_prob = log_prob + lp.gather(-1, j.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(pool, -1)
        soft = torch.softmax(torch.where(picked, torch.full_like(noisy, neg), noisy) / tau, dim=-1)
        hard = torch.nn.functional.one_hot(j, N).to(soft)
        rows.append(hard + (soft - soft.detach()))  # exactly one-hot in value
        picked = picked | hard.bool()
    return MinimalSets(index=index, log_prob=log_prob, selection=torch.stack(rows, dim=-2))
