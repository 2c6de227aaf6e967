"""Input checks shared by every module: bad input gets a ValueError that names the problem.

Each check returns nothing and raises ``ValueError`` with the argument's name, so a learner
who passes a (N, 2) array where (N, 3) was meant reads *which* argument and *what* shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch


def as_tensor(x, name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Accept tensors, arrays and nested lists; refuse non-floating or complex input."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=dtype if dtype is not None else torch.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{name}: cannot be read as a tensor ({exc})") from None
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor (float32 or float64), got {x.dtype}")
    return x


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise if ``x`` holds NaN or inf (cheap: one reduction)."""
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")


def check_shape(x: torch.Tensor, name: str, tail: Sequence[int | None], min_dims: int | None = None) -> None:
    """Check the trailing dimensions of ``x``; ``None`` in ``tail`` accepts any size.

    Leading (batch) dimensions are free, so ``tail=(None, 3)`` accepts (N, 3) and (B, N, 3).
    """
    need = len(tail) if min_dims is None else min_dims
    if x.dim() < need:
        want = "(..., " + ", ".join("N" if t is None else str(t) for t in tail) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(x.shape)}")
    got = tuple(x.shape[-len(tail):]) if tail else ()
    for g, t in zip(got, tail, strict=True):
        if t is not None and g != t:
            want = "(..., " + ", ".join("N" if t is None else str(t) for t in tail) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {tuple(x.shape)}")


def check_positive(value: float, name: str, allow_zero: bool = False) -> None:
    """Scalar settings (step sizes, damping, memory...) must be finite and positive."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name}: must be {kind}, got {value}")


def check_range(value: float, name: str, low: float, high: float, closed: str = "both") -> None:
    """``value`` must lie in [low, high] (``closed`` = "both", "left", "right" or "neither")."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    lo_ok = value >= low if closed in ("both", "left") else value > low
    hi_ok = value <= high if closed in ("both", "right") else value < high
    if not (lo_ok and hi_ok):
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name}: must lie in {lb}{low}, {high}{rb}, got {value}")


def as_real_scalar(value, name: str) -> float:
    """Read one finite real number from any scalar type and return it as a Python float.

    Accepts ``int``/``float``, NumPy integer and floating scalars (``np.float32``, ``np.float64``...),
    0-d NumPy arrays and 0-d torch tensors of an integer or floating dtype.
    Refuses bools, complex numbers, strings, arrays/tensors with more than one element, NaN and
    infinity with a ``ValueError`` naming ``name``.
    """
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.is_complex() or value.dtype == torch.bool:
            raise ValueError(f"{name}: expected a real scalar, got a {value.dtype} tensor of shape {tuple(value.shape)}")
        out = float(value.detach())
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating, np.ndarray)):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    elif isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            raise ValueError(f"{name}: expected a real scalar, got an array of dtype {value.dtype} and shape {value.shape}")
        out = float(value)
    else:
        out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return out
