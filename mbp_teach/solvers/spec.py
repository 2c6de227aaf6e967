"""One solver, one declaration: ``SolverSpec`` says everything the suite needs about a solver, beside its forward.

A spec holds

- how to run the solver: ``solver``, the public, validated function with the ``backward=`` switch, and
  ``forward``, the private computation on validated tensors;
- what its answer y satisfies, twice: the square residual F(y, *xs, *aux) = 0 of the implicit function
  theorem (``residual``) and the declarative node argmin objective s.t. constraints = 0 (``node``), with
  the map from the forward's output to the unknowns y0 of a flattened batch and back (``unknowns``,
  ``output``; by default the output's own entries, ``output_dims`` trailing dimensions of them);
- how to exercise it: ``inputs`` (seeded random problems, or near-degenerate ones closer as ``gap``
  shrinks), ``loss`` (one number per problem, for the gradient comparisons) and ``bench`` (benchmark
  inputs).

This is the Deep Declarative Networks view (Gould et al., TPAMI 2022): a node is an objective plus a
solve, and the backward comes for free from the loop every solver shares
(``mbp_teach.gradients.backward``). ``backwards`` overrides that loop for one mode when a solver has a
better backward. ``register`` adds a spec to ``SPECS``, which everything else reads: the
``backward="ift" | "ddn"`` dispatch, the gradient comparisons (``mbp_teach.gradients.problems``), the
benchmarks (``mbp_teach.bench``) and notebook 02. CONTRIBUTING.md, "Adding a solver", shows a whole
spec for a toy solver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from mbp_teach.gradients.backward import Unknowns, tensor_output, tensor_unknowns
from mbp_teach.gradients.ddn import DeclarativeNode

__all__ = ["SPECS", "SolverSpec", "fixed_weights", "register"]

Inputs = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class SolverSpec:
    """Everything the suite needs about one differentiable solver (see the module docstring).

    Signatures, B problems, ``...`` their batch dimensions:

    - ``solver(*inputs, backward="autograd", **options) -> out``; ``forward(*inputs) -> out``;
    - ``residual(y (B, n), *xs, *aux) -> (B, n)``, problems independent, dF/dy invertible at a simple
      solution; ``node``: a ``DeclarativeNode`` over the same y, xs, aux (None: no DDN backward);
    - ``unknowns(out, *inputs) -> Unknowns(y0, xs, aux, context)`` and ``output(y, out, u) -> out`` with
      y's gradient (``implicit.straight_through`` keeps the forward's values); None: the output's entries
      (``tensor_unknowns`` with ``output_dims``);
    - ``inputs(batch, seed, gap, dtype) -> inputs``: ``seed`` an int or a ``torch.Generator``; ``gap``
      None (random problems) or a number in (0, 1] (a (B,) tensor too if ``gap_per_problem``);
      ``gap_decades`` is the range of gaps 10^k the benchmark's near-degenerate set spans;
    - ``loss(out) -> (...,)``: one value per problem, smooth in the inputs (invariant to an arbitrary
      sign or order of the solutions);
    - ``bench(batch, points, dtype) -> inputs`` for the timing table, labelled ``bench_label``
      (formatted with ``name`` and ``points``);
    - ``backwards``: {mode: f(forward, *inputs) -> out with the gradient} replacing the shared loop;
    - ``baselines``: {label: solver options} of further autograd baselines the benchmark times;
    - ``points``: correspondences per problem in the comparisons (None: not a point-set solver).
    """

    name: str
    solver: Callable[..., Any]
    forward: Callable[..., Any]
    residual: Callable[..., torch.Tensor]
    node: DeclarativeNode | None
    inputs: Callable[..., Inputs]
    loss: Callable[[Any], torch.Tensor]
    bench: Callable[[int, int, torch.dtype], Inputs]
    points: int | None = None
    unknowns: Callable[..., Unknowns] | None = None
    output: Callable[[torch.Tensor, Any, Unknowns], Any] | None = None
    output_dims: int = 2
    backwards: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    baselines: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    gap_per_problem: bool = False
    gap_decades: tuple[int, int] = (-12, -3)
    bench_label: str = "{name}"

    def unknowns_of(self, out: Any, *inputs: torch.Tensor) -> Unknowns:
        """The unknowns behind the forward's output ``out`` for a flattened batch (``unknowns`` or the default)."""
        if self.unknowns is not None:
            return self.unknowns(out, *inputs)
        return tensor_unknowns(out, inputs, self.output_dims)

    def output_of(self, y: torch.Tensor, out: Any, u: Unknowns) -> Any:
        """``out``'s values carrying y's gradient (``output`` or the default)."""
        if self.output is not None:
            return self.output(y, out, u)
        return tensor_output(y, out, u)

    def label(self, points: int) -> str:
        """The benchmark's name for this solver at ``points`` correspondences."""
        return self.bench_label.format(name=self.name, points=points)


SPECS: dict[str, SolverSpec] = {}
"""name -> spec of every registered solver, in the order they were registered (mbp_teach.solvers
imports its modules in the course's order: rotations, fundamental matrix, essential matrix)."""


def register(spec: SolverSpec) -> SolverSpec:
    """Add ``spec`` to ``SPECS`` and return it (``SPEC = register(SolverSpec(...))`` at module level).

    A name can be taken only once, except by a spec from the same module (a module re-imported or
    reloaded replaces its own specs); anything else raises ValueError.
    """
    old = SPECS.get(spec.name)
    if old is not None and old.solver.__module__ != spec.solver.__module__:
        raise ValueError(f"register: a solver named {spec.name!r} is already registered (from {old.solver.__module__})")
    SPECS[spec.name] = spec
    return spec


def fixed_weights(shape: int | tuple[int, ...], seed: int = 12345) -> torch.Tensor:
    """Float64 standard-normal weights from their own seed: the fixed random functionals of the losses."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
