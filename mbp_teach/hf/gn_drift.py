"""How much the Gauss-Newton matrix moves between HF iterations, measured on fixed probe vectors.

A preconditioner built from the curvature pairs of the last solve describes the matrix G_{k-1} of that solve.
It helps the next solve only if G_k acts on the same directions much as G_{k-1} did. The measure here:
for fixed random unit probes v_1..v_p (p, P),

    drift_k = mean_j ||G_k v_j - G_{k-1} v_j|| / ||G_k v_j||,

the relative change of the matrix's action, 0 for an unchanged matrix. It costs p Gauss-Newton products
per iteration on all the data (the optimiser's cost accounting does not see them: they are a measurement).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mbp_teach.hf.curvature import ModuleObjective


def probes(dim: int, count: int = 4, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(count, dim) random unit vectors, seeded."""
    if not isinstance(dim, int) or dim < 1 or not isinstance(count, int) or count < 1:
        raise ValueError(f"dim, count: need positive integers, got dim={dim!r}, count={count!r}")
    v = torch.randn(count, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return v / v.norm(dim=1, keepdim=True)


def actions(matvec: Callable[[torch.Tensor], torch.Tensor], vs: torch.Tensor) -> torch.Tensor:
    """(p, P) rows A v_j of the probes ``vs`` (p, P)."""
    return torch.stack([matvec(v) for v in vs])


def relative_change(before: torch.Tensor, after: torch.Tensor) -> float:
    """mean_j ||after_j - before_j|| / ||after_j|| over the rows (p, P) of two probe actions."""
    if before.shape != after.shape or before.dim() != 2:
        raise ValueError(f"before, after: need two (p, P) tensors of one shape, got {tuple(before.shape)} "
                         f"and {tuple(after.shape)}")
    scale = after.norm(dim=1)
    if not bool((scale > 0).all()):
        raise ValueError("after: a probe's action is zero, its relative change is undefined")
    return float(((after - before).norm(dim=1) / scale).mean())


def drifts(matvecs: Sequence[Callable[[torch.Tensor], torch.Tensor]], vs: torch.Tensor) -> list[float]:
    """relative_change between consecutive matrices of ``matvecs`` (len(matvecs) - 1 values)."""
    acts = [actions(m, vs) for m in matvecs]
    return [relative_change(a, b) for a, b in zip(acts[:-1], acts[1:], strict=True)]


class DriftProbe:
    """Observer for ``compare.run_hf(..., progress=probe)``: after every HF iteration (``update``) it applies the
    Gauss-Newton matrix at the current parameters, on all the data, to the fixed probes and records the drift.

    ``drift[k - 1]`` compares iteration k's matrix with iteration k-1's (the first entry with the starting point's).
    ``bar``: an optional progress bar it forwards ``update`` to.
    """

    def __init__(self, objective: ModuleObjective, count: int = 4, seed: int = 0, bar=None):
        self.objective, self.bar = objective, bar
        self.vs = probes(objective.dim, count, seed)
        self.last = self._actions()
        self.drift: list[float] = []

    def _actions(self) -> torch.Tensor:
        return actions(self.objective.gauss_newton(self.objective.get_params()), self.vs)

    def update(self, n: int = 1) -> None:
        now = self._actions()
        self.drift.append(relative_change(self.last, now))
        self.last = now
        if self.bar is not None:
            self.bar.update(n)
