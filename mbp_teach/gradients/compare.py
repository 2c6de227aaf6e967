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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from mbp_teach.gradients import finite_diff as fd
from mbp_teach.gradients import implicit
from mbp_teach.notebook import as_bound

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
    """The power of ten just above a small error ("< 1e-12"), or the value if >= 1e-3.

    Only for output nobody compares (timing tables in ignored cells, benchmarks): a round-off
    error's decade flips between CPUs when the error sits near a power of ten. Stored outputs
    print the asserted bound instead (``mbp_teach.notebook.as_bound`` and ``claim(..., show_value=False)``).
    """
    if not math.isfinite(x):
        return "not finite"
    if x == 0.0:
        return "0"
    if x >= 1e-3:
        return f"{x:.3g}"
    return f"< 1e{math.floor(math.log10(x)) + 1}"


#: torch releases (major.minor) on which the SVD-backward failures that notebook 02 teaches were observed:
#: NaN or a silently wrong gradient of ``torch.linalg.svd`` at repeated singular values, and an exactly
#: zero gradient through the null space of a ``full_matrices=True`` SVD.
SVD_BACKWARD_RELEASES = ("2.13",)


def torch_release(version: str | None = None) -> str:
    """"major.minor" of ``version`` (default ``torch.__version__``): "2.13.0+cpu" -> "2.13"."""
    text = torch.__version__ if version is None else version
    parts = str(text).split("+")[0].split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"version: expected 'major.minor[.patch][+local]', got {text!r}")
    return f"{parts[0]}.{parts[1]}"


def expect_svd_backward_failure(shown: bool, what: str, version: str | None = None) -> None:
    """Assert that torch's SVD backward still fails as the lessons say; ``shown`` is the measured outcome.

    ``what`` names the failure ("autograd's gradient is NaN or wrong at exact repetition"). If it no
    longer shows, the AssertionError says why that matters: on a torch release the lessons were not
    written for (``SVD_BACKWARD_RELEASES``), the release changed SVD's backward and the lesson's text
    (notebook 02, sections 5 and 6) must be revisited; on a known release, something in this suite or
    in LAPACK changed the computation.
    """
    if shown:
        return
    release = torch_release(version)
    if release in SVD_BACKWARD_RELEASES:
        raise AssertionError(f"torch {release}: {what} no longer shows, although it did on this release; "
                             "check the inputs and the solver, or the LAPACK build")
    known = ", ".join(SVD_BACKWARD_RELEASES)
    raise AssertionError(f"torch {release} changed SVD's backward: {what} no longer shows (the lesson was "
                         f"written for torch {known}). Revisit notebook 02's text about SVD gradients and add "
                         f"{release} to gradcheck.SVD_BACKWARD_RELEASES if the failure returns.")


class Table(list):
    """Rows of ``compare``; ``str(table)`` prints without times, ``table.format(times=True)`` with."""

    def row(self, method: str) -> Row:
        for r in self:
            if r.method == method:
                return r
        raise KeyError(method)

    def format(self, times: bool = False, title: str = "", bounds: Mapping[str, float] | None = None) -> str:
        """The table as text. With ``bounds`` ({method: bound}) the errors are printed as the bound they
        satisfy ("< 1e-07"; ``as_bound`` asserts it), so the text is the same on every CPU; without, by
        decade (for tables that are not stored, e.g. with times)."""
        head = f"{'method':<9} {'rel. error':>12} {'non-finite':>10} {'flagged':>8}" + (f" {'time (ms)':>10}" if times else "")
        lines = ([title] if title else []) + [head, "-" * len(head)]
        for r in self:
            error = decade(r.rel_error) if bounds is None else as_bound(r.rel_error, bounds[r.method])
            line = f"{r.method:<9} {error:>12} {r.nonfinite:>10} {r.flagged:>8}"
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
    grads = tuple(torch.zeros_like(x) if g is None else g for g, x in zip(grads, xs, strict=True))
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


def backward_ops(loss: Callable[..., torch.Tensor], backward: str, inputs: Sequence[torch.Tensor]) -> int:
    """How many tensor operations (ATen calls) ``loss(backward, *inputs).backward()`` runs, the backward alone.

    Unlike a time, the count is the same on every CPU. For small problems each operation costs a
    roughly fixed overhead (a few microseconds of dispatch), so the count explains backward times
    that arithmetic alone does not."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            _Count.n += 1
            return func(*args, **(kwargs or {}))

    xs = tuple(t.detach().clone().requires_grad_(True) for t in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
        value = loss(backward, *xs)
        with _Count():
            value.backward()
    return _Count.n
