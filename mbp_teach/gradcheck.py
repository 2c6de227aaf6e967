"""Four gradients of one loss, side by side: error against a float64 reference, time, failures.

``compare(loss, inputs)`` takes ``loss(backward, *inputs) -> scalar`` (``backward`` is the
solver switch, "autograd" | "ift" | "ddn") and returns a ``Table`` with one ``Row`` per method:
the relative error ||g - g_ref|| / ||g_ref|| over all inputs, the backward time, how many gradient
entries are not finite, and how many problems the IFT/DDN backward flagged as ill-conditioned.
"fd" is the central difference at the step h* of ``finite_diff.optimal_step``. The reference is
``finite_diff.reference_gradient`` (Richardson, float64), which only evaluates the forward pass.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from . import finite_diff as fd
from . import implicit

METHODS = ("autograd", "ift", "ddn", "fd")


@dataclass
class Row:
    method: str
    rel_error: float
    backward_ms: float
    nonfinite: int
    flagged: int
    gradient: tuple[torch.Tensor, ...]


def decade(x: float) -> str:
    """A robust print of a small error: the power of ten just above it ("< 1e-12"), or the value if >= 1e-3.

    Round-off-level errors change in their last digits with the BLAS thread count; their decade
    (almost) never does, so the notebooks print this.
    """
    if not math.isfinite(x):
        return "not finite"
    if x == 0.0:
        return "0"
    if x >= 1e-3:
        return f"{x:.3g}"
    return f"< 1e{math.floor(math.log10(x)) + 1}"


def claim(name: str, value: float, bound: float, below: bool = True) -> None:
    """``notebook.claim`` for round-off-level quantities: prints the decade of ``value``, asserts the bound."""
    from .notebook import claim as checked

    checked(name, value, bound, below, value_format=decade, bound_format=lambda b: f"{b:.0e}")


class Table(list):
    """Rows of ``compare``; ``str(table)`` prints without times, ``table.format(times=True)`` with."""

    def row(self, method: str) -> Row:
        for r in self:
            if r.method == method:
                return r
        raise KeyError(method)

    def format(self, times: bool = False, title: str = "") -> str:
        head = f"{'method':<9} {'rel. error':>12} {'non-finite':>10} {'flagged':>8}" + (f" {'time (ms)':>10}" if times else "")
        lines = ([title] if title else []) + [head, "-" * len(head)]
        for r in self:
            line = f"{r.method:<9} {decade(r.rel_error):>12} {r.nonfinite:>10} {r.flagged:>8}"
            lines.append(line + (f" {r.backward_ms:>10.2f}" if times else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def relative_error(g: Sequence[torch.Tensor], ref: Sequence[torch.Tensor]) -> float:
    """||g - ref|| / ||ref|| over all entries (inf if g is not finite)."""
    a = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in g])
    b = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in ref])
    if not bool(torch.isfinite(a).all()):
        return math.inf
    return float((a - b).norm() / b.norm().clamp_min(torch.finfo(torch.float64).tiny))


def backward_gradient(loss: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor], method: str
                      ) -> tuple[tuple[torch.Tensor, ...], float, int]:
    """(gradient, backward seconds, flagged problems) of ``loss(method, *inputs)``; forward not timed."""
    xs = tuple(x.detach().clone().requires_grad_(True) for x in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
        with implicit.policy(on_singular="warn") as log:
            value = loss(method, *xs)
        start = time.perf_counter()
        grads = torch.autograd.grad(value, xs, allow_unused=True)
        seconds = time.perf_counter() - start
    grads = tuple(torch.zeros_like(x) if g is None else g for g, x in zip(grads, xs))
    return grads, seconds, int(log.flags().sum())


def compare(loss: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor], methods: Sequence[str] = METHODS,
            reference: Sequence[torch.Tensor] | None = None, h: float | None = None) -> Table:
    """One row per method for the scalar ``loss(backward, *inputs)``; see the module docstring."""
    inputs = tuple(inputs)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"methods: unknown {sorted(unknown)}; choose from {METHODS}")
    if reference is None:
        reference = fd.reference_gradient(lambda *x: loss("autograd", *x), inputs)
    table = Table()
    for method in methods:
        if method == "fd":
            step = h if h is not None else fd.optimal_step(inputs[0].dtype)
            start = time.perf_counter()
            g = fd.central(lambda *x: loss("autograd", *x), inputs, step)
            seconds, flagged = time.perf_counter() - start, 0
        else:
            g, seconds, flagged = backward_gradient(loss, inputs, method)
        nonfinite = int(sum((~torch.isfinite(t)).sum() for t in g))
        table.append(Row(method, relative_error(g, reference), 1e3 * seconds, nonfinite, flagged, g))
    return table
