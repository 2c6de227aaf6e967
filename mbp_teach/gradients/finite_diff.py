"""Finite differences: the gradient anyone can compute, and the reference the others are checked against.

The central difference (f(x + h v) - f(x - h v)) / (2h) differs from the directional derivative
f'(x) v by a truncation error ~ h^2 |f'''| / 6 and a round-off error ~ eps |f| / h. Their sum is a
V in log-log axes with its bottom near h* = (3 eps |f| / |f'''|)^(1/3), about eps^(1/3):
6e-6 in float64 and 5e-3 in float32, where the error is about eps^(2/3) (4e-11, 2e-5).

Richardson extrapolation cancels the h^2, h^4, ... terms of central differences taken at
h, h/2, h/4, ... (a Romberg table), giving a float64 reference accurate to ~1e-12 from steps large
enough that round-off does not matter. It only evaluates ``fn``, so it is independent of every
backward being tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mbp_teach import validation as val

__all__ = ["central", "directional", "gradient", "optimal_step", "reference_gradient", "step_errors"]


def optimal_step(dtype: torch.dtype = torch.float64, scale: float = 1.0) -> float:
    """h* = scale * (3 eps)^(1/3): balances truncation (h^2) and round-off (eps/h) when |f| ~ |f'''|."""
    return float(scale * (3.0 * torch.finfo(dtype).eps) ** (1.0 / 3.0))


def _inputs(inputs) -> tuple[torch.Tensor, ...]:
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for k, x in enumerate(inputs):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"inputs[{k}]: expected a floating-point tensor")
    return tuple(x.detach() for x in inputs)


def directional(fn: Callable[..., torch.Tensor], inputs, direction, h: float) -> torch.Tensor:
    """(fn(x + h v) - fn(x - h v)) / (2h) for ``fn`` returning a scalar; ``direction`` matches ``inputs``."""
    val.check_positive(h, "h")
    xs = _inputs(inputs)
    vs = _inputs(direction)
    if [x.shape for x in xs] != [v.shape for v in vs]:
        raise ValueError("direction: must have the same shapes as inputs")
    with torch.no_grad():
        plus = fn(*(x + h * v for x, v in zip(xs, vs, strict=True)))
        minus = fn(*(x - h * v for x, v in zip(xs, vs, strict=True)))
    return (plus - minus) / (2.0 * h)


def central(fn: Callable[..., torch.Tensor], inputs, h: float, vectorized: bool = False) -> tuple[torch.Tensor, ...]:
    """The central-difference gradient of ``fn`` w.r.t. every entry of every input.

    Plain: ``fn`` returns a scalar and is called twice per entry. ``vectorized=True``: ``fn``
    accepts an extra leading dimension (batched solvers do) and returns values with that leading
    dimension (summed over the rest): all 2m perturbed copies go through ONE call.
    """
    val.check_positive(h, "h")
    xs = _inputs(inputs)
    sizes = [x.numel() for x in xs]
    m = sum(sizes)
    with torch.no_grad():
        if vectorized:
            steps = torch.cat([torch.eye(m, dtype=xs[0].dtype) * h, -torch.eye(m, dtype=xs[0].dtype) * h])  # (2m, m)
            parts = torch.split(steps, sizes, dim=1)
            values = fn(*(x.unsqueeze(0) + p.reshape((2 * m,) + x.shape).to(x.dtype) for x, p in zip(xs, parts, strict=True)))
            values = values.reshape(2 * m, -1).sum(1)
            flat = (values[:m] - values[m:]) / (2.0 * h)
        else:
            flat = torch.empty(m, dtype=xs[0].dtype)
            offset = 0
            for k, x in enumerate(xs):
                for i in range(x.numel()):
                    e = torch.zeros(x.numel(), dtype=x.dtype)
                    e[i] = h
                    e = e.view_as(x)
                    plus = fn(*(xs[:k] + (x + e,) + xs[k + 1:]))
                    minus = fn(*(xs[:k] + (x - e,) + xs[k + 1:]))
                    flat[offset + i] = (plus - minus) / (2.0 * h)
                offset += x.numel()
    return tuple(p.reshape(x.shape).to(x.dtype) for p, x in zip(torch.split(flat, sizes), xs, strict=True))


gradient = central


def reference_gradient(fn: Callable[..., torch.Tensor], inputs, h: float = 1e-4, levels: int = 3,
                       vectorized: bool = False) -> tuple[torch.Tensor, ...]:
    """Richardson-extrapolated central differences in float64: steps h, h/2, ..., h/2^(levels-1).

    Row k of the Romberg table is R_k0 = D(h / 2^k); R_kj = R_k,j-1 + (R_k,j-1 - R_k-1,j-1) / (4^j - 1)
    removes the h^(2j) term. Returns R_{levels-1, levels-1} (error O(h^(2 levels)) plus round-off).
    ``fn`` is evaluated on float64 copies of the inputs (``vectorized`` as in ``central``). The
    default steps (1e-4 to 2.5e-5, three levels: error ~h^6 ~ 1e-24 plus round-off ~1e-11
    relative) suit inputs of size ~1; a solver whose output jumps within h (a root changing
    from real to complex) cannot have a reference at that point.
    """
    val.check_positive(h, "h")
    if not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels: need an integer >= 1, got {levels!r}")
    xs = tuple(x.to(torch.float64) for x in _inputs(inputs))
    table: list[list[tuple[torch.Tensor, ...]]] = []
    for k in range(levels):
        row = [central(fn, xs, h / 2**k, vectorized)]
        for j in range(1, k + 1):
            prev, up = row[j - 1], table[k - 1][j - 1]
            row.append(tuple(p + (p - u) / (4**j - 1) for p, u in zip(prev, up, strict=True)))
        table.append(row)
    return table[-1][-1]


def step_errors(fn: Callable[..., torch.Tensor], inputs, direction, steps: Sequence[float], exact: float,
                dtype: torch.dtype) -> torch.Tensor:
    """|central difference - exact| / |exact| at each step h, evaluating ``fn`` in ``dtype``.

    ``exact``: the directional derivative, from a float64 reference. Returns float64 (len(steps),).
    """
    xs = tuple(x.to(dtype) for x in _inputs(inputs))
    vs = tuple(v.to(dtype) for v in _inputs(direction))
    out = [abs(float(directional(fn, xs, vs, float(h))) - exact) for h in steps]
    return torch.tensor(out, dtype=torch.float64) / max(abs(exact), torch.finfo(torch.float64).tiny)
