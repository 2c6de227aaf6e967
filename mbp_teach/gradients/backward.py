"""One switch selects how a solver is differentiated (the Theseus pattern), and the loop all solvers share.

Every solver in ``mbp_teach.solvers`` takes ``backward="autograd" | "ift" | "ddn"`` and calls
``dispatch(spec, forward, inputs, backward)`` with its declaration ``spec`` (a
``mbp_teach.solvers.spec.SolverSpec``). The forward computation is the same for all modes; only the
gradient differs:

- ``"autograd"``: gradients flow through the solver's own operations (SVD, eig, solve);
- ``"ift"``:  the implicit function theorem on the spec's residual F(x, y) = 0
  (``mbp_teach.gradients.implicit``), dy/dx = -(dF/dy)^-1 dF/dx;
- ``"ddn"``:  the spec's declarative node, objective + equality constraints
  (``mbp_teach.gradients.ddn``), with the DDN gradient formula of Gould et al.

The IFT and the DDN share one loop (``attach``), as in Deep Declarative Networks, where a node is an
objective plus a solve and the backward comes for free:

1. run the forward without a graph (any algorithm: SVD, eigenvalues, Gauss-Jordan...);
2. ask the spec for the unknowns y0 (B, n) of the flattened batch and the per-problem inputs
   ``xs`` (which keep their graph to the caller's tensors) and ``aux`` (no gradient): ``Unknowns``;
3. attach the gradient to y0: ``implicit.implicit(spec.residual, ...)`` or ``spec.node.attach(...)``;
4. let the spec map y back to its output, whose values stay exactly the forward's
   (``implicit.straight_through``).

A spec may replace a mode by its own backward (``spec.backwards[mode](forward, *inputs)``): an algorithm
is a small override of the shared loop (five_point's IFT is the 5 x 5 tangent-space system,
eight_point's DDN two nodes in a row). This module knows no solver and imports none: the solvers
import it, so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from mbp_teach.gradients import implicit
from mbp_teach.gradients.ddn import DeclarativeNode

__all__ = ["MODES", "Declared", "Unknowns", "attach", "check_mode", "dispatch", "flat", "tensor_output",
           "tensor_unknowns"]

MODES = ("autograd", "ift", "ddn")


def check_mode(backward: str) -> None:
    if backward not in MODES:
        raise ValueError(f"backward: must be one of {', '.join(repr(m) for m in MODES)}, got {backward!r}")


@dataclass(frozen=True)
class Unknowns:
    """The unknowns behind a solver's output, for a flattened batch of B problems.

    y0 (B, n): the solution, with residual(y0, *xs, *aux) = 0 (B, n) row by row; xs: the inputs the
    gradient flows to, leading dimension B (reshaped or indexed views of the caller's tensors, so they
    keep their graph); aux: per-problem data without gradient; context: whatever the spec needs to map
    y back to its output (e.g. which roots were valid).
    """

    y0: torch.Tensor
    xs: tuple[torch.Tensor, ...]
    aux: tuple[torch.Tensor, ...] = ()
    context: Any = None


class Declared(Protocol):
    """What ``attach`` needs of a solver's declaration (``mbp_teach.solvers.spec.SolverSpec`` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def residual(self) -> Callable[..., torch.Tensor]: ...

    @property
    def node(self) -> DeclarativeNode | None: ...

    @property
    def backwards(self) -> Mapping[str, Callable[..., Any]]: ...

    def unknowns_of(self, out: Any, *inputs: torch.Tensor) -> Unknowns: ...

    def output_of(self, y: torch.Tensor, out: Any, u: Unknowns) -> Any: ...


def flat(t: torch.Tensor, batch: torch.Size) -> torch.Tensor:
    """Merge the batch dimensions ``batch`` (leading) of ``t`` into one (explicit size: a -1 is ambiguous
    for an empty batch)."""
    return t.reshape((batch.numel(),) + t.shape[len(batch):])


def tensor_unknowns(out: torch.Tensor, inputs: Sequence[torch.Tensor], dims: int) -> Unknowns:
    """The default: the entries of the output (..., *event) are the unknowns, ``dims`` = len(event);
    every input has the output's batch dimensions first. y0 (B, prod(event))."""
    batch = out.shape[: out.dim() - dims]
    return Unknowns(flat(out, batch).flatten(1), tuple(flat(x, batch) for x in inputs))


def tensor_output(y: torch.Tensor, out: torch.Tensor, u: Unknowns) -> torch.Tensor:
    """The default way back: the output's values, with y's gradient."""
    return implicit.straight_through(out, y.reshape(out.shape))


def attach(spec: Declared, backward: str, forward: Callable[..., Any], inputs: Sequence[torch.Tensor]) -> Any:
    """The shared loop (see the module docstring): ``forward(*inputs)``'s values with the generic IFT
    (``backward="ift"``) or DDN (``"ddn"``) gradient of ``spec``, whatever ``spec.backwards`` says."""
    with torch.no_grad():
        out = forward(*inputs)
    u = spec.unknowns_of(out, *inputs)
    if u.y0.shape[0] == 0:  # nothing to differentiate (an empty batch, no valid root): a zero gradient, still connected
        y = implicit.connected_zero(u.y0, *u.xs)
    elif backward == "ift":
        y = implicit.implicit(spec.residual, u.y0, u.xs, u.aux, name=f"{spec.name} (ift)")
    elif backward == "ddn" and spec.node is not None:
        y = spec.node.attach(u.y0, u.xs, u.aux)
    else:
        raise ValueError(f"backward={backward!r} is not available for {spec.name}")
    return spec.output_of(y, out, u)


def dispatch(spec: Declared, forward: Callable[..., Any], inputs: Sequence[torch.Tensor], backward: str) -> Any:
    """Run ``forward(*inputs)`` with the gradient chosen by ``backward``: autograd, the spec's own
    backward for that mode if it declares one, else the shared loop ``attach``."""
    check_mode(backward)
    if backward == "autograd":
        return forward(*inputs)
    custom = spec.backwards.get(backward)
    if custom is not None:
        return custom(forward, *inputs)
    if backward == "ddn" and spec.node is None:
        raise ValueError(f"backward='ddn' is not available for {spec.name}: it declares no node")
    return attach(spec, backward, forward, inputs)
