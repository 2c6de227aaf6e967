"""Notebook 07's controlled case: a sequence of related SPD systems A_k x = b_k, as consecutive HF solves.

All A_k share one orthonormal eigenbasis Q (n, n); the spectrum has ``outliers`` large eigenvalues spread over
[1, 10^4] above a bulk of n - outliers in [0.01, 0.1], and every eigenvalue drifts by up to ``drift`` (relative)
from one system to the next:

    A_k = Q diag(lambda * (1 + drift * u_k)) Q^T,   u_k ~ U(0, 1)^n,   b_k ~ N(0, I).

``iterations`` solves them in order with one preconditioner that collects each solve's CG pairs for the next.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from mbp_teach.hf.conjugate_gradient import cg
from mbp_teach.hf.precond import LBFGS, Identity

System = tuple[torch.Tensor, torch.Tensor]


def related_systems(n: int = 200, count: int = 5, outliers: int = 40, drift: float = 0.02, seed: int = 0,
                    dtype: torch.dtype = torch.float64) -> list[System]:
    """``count`` pairs (A_k (n, n), b_k (n,)) as in the module doc."""
    if not (isinstance(n, int) and isinstance(count, int) and isinstance(outliers, int)) or not 0 < outliers < n \
            or count < 1:
        raise ValueError(f"n, count, outliers: need integers with 0 < outliers < n and count >= 1, got "
                         f"n={n!r}, count={count!r}, outliers={outliers!r}")
    if not 0 <= drift < 1:
        raise ValueError(f"drift: need 0 <= drift < 1 (relative change of an eigenvalue), got {drift}")
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=dtype))
    lam = torch.cat([torch.logspace(-2, -1, n - outliers, dtype=dtype), torch.logspace(0, 4, outliers, dtype=dtype)])
    return [(q @ torch.diag(lam * (1 + drift * torch.rand(n, generator=g, dtype=dtype))) @ q.T,
             torch.randn(n, generator=g, dtype=dtype)) for _ in range(count)]


def iterations(pre: Identity, systems: Iterable[System], rtol: float = 1e-6, max_iters: int = 1000) -> np.ndarray:
    """CG iterations of each solve (count,), to ||r|| <= rtol ||b||, the preconditioner ``pre`` carrying the pairs
    of one solve into the next (``end_solve``)."""
    its = []
    for A, b in systems:
        _, hist = cg(A.__matmul__, b, M=pre, max_iters=max_iters, rtol=rtol, on_pair=pre.add_pair)
        pre.end_solve()
        its.append(hist.iterations)
    return np.array(its)


def memory_sweep(memories: Iterable[int], systems: list[System], **cg_options) -> dict[int, np.ndarray]:
    """{m: iterations per solve with L-BFGS of memory m} and {0: plain CG}."""
    out = {0: iterations(Identity(), systems, **cg_options)}
    for m in memories:
        out[int(m)] = iterations(LBFGS(memory=int(m)), systems, **cg_options)
    return out
