"""Seeded problems and sign-invariant losses on which the four gradients are compared, for every solver
registered in ``mbp_teach.solvers.SPECS`` (each solver declares its own in its ``SolverSpec``).

``inputs(name, batch, seed, gap=None)`` gives the solver's inputs; with ``gap`` (a number in (0, 1], or a
(B,) tensor for the solvers that take one per problem) the problems are near-degenerate, closer as the
gap shrinks (kabsch / rigid_transform: nearly repeated singular values; eight_point: a nearly planar
scene; five_point: a nearly pure rotation; see each spec's ``inputs``).

``loss(name)`` returns ``loss(backward, *inputs) -> scalar``, the sum over the batch of the spec's
per-problem loss (``per_problem_loss``): for the built-in solvers a fixed random linear functional of
R (and t), and the square of one of F or of every valid E, summed over the valid solutions, so it
depends neither on the arbitrary sign of F/E nor on the order of the 10 roots.

Everything reads the registry when called: a solver registered later (``mbp_teach.solvers.register``)
is compared like the built-in ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

from mbp_teach import data
from mbp_teach.solvers import SPECS, SolverSpec

SOLVERS = SPECS.keys()
"""The registered solvers' names, in registration order (a live view of ``SPECS``)."""


class _Points(Mapping[str, int]):
    """name -> correspondences per problem in the comparisons, of the registered point-set solvers."""

    def __getitem__(self, name: str) -> int:
        points = SPECS[name].points
        if points is None:
            raise KeyError(name)
        return points

    def __iter__(self) -> Iterator[str]:
        return (name for name, spec in SPECS.items() if spec.points is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


N_POINTS: Mapping[str, int] = _Points()


def spec(name: str) -> SolverSpec:
    """The registered spec of solver ``name`` (ValueError naming the choices if there is none)."""
    if name not in SPECS:
        raise ValueError(f"name: unknown solver {name!r}; choose from {tuple(SPECS)}")
    return SPECS[name]


def inputs(name: str, batch: int = 1, seed: int | torch.Generator = 0, gap=None,
           dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    """Inputs of solver ``name`` for ``batch`` random (or, with ``gap``, near-degenerate) problems."""
    return spec(name).inputs(batch, seed, gap, dtype)


def log_gaps(batch: int, seed=0, low: float = 1e-12, high: float = 1e-3) -> torch.Tensor:
    """``batch`` gaps log-uniform in [low, high]."""
    g = data.generator(seed)
    u = torch.rand(batch, generator=g, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def per_problem_loss(name: str, **solver_options: Any) -> Callable[..., torch.Tensor]:
    """``f(backward, *inputs) -> (...,)``, one value per problem: the spec's ``loss`` of the solver's output.

    ``solver_options`` go to the solver (e.g. ``null_space="gram_svd"`` for five_point)."""
    s = spec(name)

    def f(backward: str, *x: torch.Tensor) -> torch.Tensor:
        return s.loss(s.solver(*x, backward=backward, **solver_options))

    return f


def loss(name: str) -> Callable[..., torch.Tensor]:
    """``f(backward, *inputs) -> scalar``: the sum of ``per_problem_loss`` over the batch."""
    each = per_problem_loss(name)
    return lambda backward, *x: each(backward, *x).sum()


def reference(name: str, x: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The float64 Richardson reference gradient of ``loss(name)`` at ``x`` (one vectorized solver call per level)."""
    from mbp_teach.gradients.finite_diff import reference_gradient

    each = per_problem_loss(name)
    return reference_gradient(lambda *z: each("autograd", *z), x, vectorized=True)
