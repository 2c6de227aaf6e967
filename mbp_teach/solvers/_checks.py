"""Vectorised input checks shared by the solvers.

Every check looks at the whole batch at once (one reduction per condition) and, when some
problems are bad, says how many and where the first one is, so a (1024, N, 3) batch with a
single collinear point set gives a message a learner can act on.
"""

from __future__ import annotations

import torch

from mbp_teach import validation as val


def fail_where(bad: torch.Tensor, message: str) -> None:
    """Raise ``ValueError(message ...)`` if any entry of the boolean batch tensor ``bad`` is set."""
    if bool(bad.any()):
        if bad.dim() == 0:
            raise ValueError(message)
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"{message} in {int(bad.sum())} of {bad.numel()} problem(s) (first at batch index {first})")


SUPPORTED_DTYPES = (torch.float32, torch.float64)


def supported_dtype(x: torch.Tensor, name: str) -> None:
    """The solvers compute in float32 or float64 only: LAPACK has no float16/bfloat16 kernels."""
    if x.dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"{name}: the solvers support float32 and float64 only, got {x.dtype}; "
                         "convert with .double() (or .float())")


def points(x, name: str, dim: int, min_points: int, exact: bool = False) -> torch.Tensor:
    """A finite float32/float64 tensor of shape (..., N, dim) with N >= min_points (N == min_points if exact)."""
    x = val.as_tensor(x, name)
    supported_dtype(x, name)
    val.check_shape(x, name, (None, dim))
    n = x.shape[-2]
    if exact and n != min_points:
        raise ValueError(f"{name}: expected exactly {min_points} points (shape (..., {min_points}, {dim})), got {n}")
    if n < min_points:
        raise ValueError(f"{name}: too few points, need at least {min_points}, got {n}")
    val.check_finite(x, name)
    return x


def pair(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Two point sets with the same shape, promoted to a common dtype."""
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]}: shapes must match, got {tuple(a.shape)} and {tuple(b.shape)}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def weights(w, like: torch.Tensor, min_nonzero: int, name: str = "w") -> torch.Tensor:
    """Non-negative finite weights of shape like.shape[:-1] (ones when ``w`` is None).

    Each problem needs at least ``min_nonzero`` points of positive weight; fewer cannot
    determine the solution.
    """
    batch_n = like.shape[:-1]
    if w is None:
        return torch.ones(batch_n, dtype=like.dtype, device=like.device)
    w = val.as_tensor(w, name, dtype=like.dtype)
    if w.shape != batch_n:
        raise ValueError(f"{name}: expected shape {tuple(batch_n)} (one weight per point), got {tuple(w.shape)}")
    val.check_finite(w, name)
    w = w.to(like.dtype)
    if bool((w < 0).any()):
        raise ValueError(f"{name}: weights must be non-negative, got {int((w < 0).sum())} negative value(s)")
    active = (w > 0).sum(-1)
    fail_where(active == 0, f"{name}: all weights are zero")
    fail_where(active < min_nonzero, f"{name}: fewer than {min_nonzero} points have a non-zero weight")
    return w


def rank_deficient(s: torch.Tensor, k: int, tol: float | None = None) -> torch.Tensor:
    """Per problem: is the k-th largest singular value (0-based) negligible next to the largest?

    ``s`` holds singular values in decreasing order (..., m). The default tolerance is
    1000 machine epsilons of the dtype: a configuration flagged here is rank deficient up to
    round-off, and its solution is not determined by the data.
    """
    tol = 1e3 * torch.finfo(s.dtype).eps if tol is None else tol
    return s[..., k] <= tol * s[..., 0]
