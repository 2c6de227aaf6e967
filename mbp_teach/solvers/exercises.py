"""Checkers for notebook 01 (minimal solvers)."""

from __future__ import annotations

import numpy as np
import torch

from mbp_teach import data
from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.solvers import kabsch


def _cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(name, P, Q, w) single problems in float64, none of them shown in the notebook."""
    g = torch.Generator().manual_seed(101)
    cases = []
    prob = data.point_cloud(12, translate=False, noise=0.02, seed=g)
    cases.append(("a generic rotation, equal weights", prob.P, prob.Q, torch.ones(12, dtype=torch.float64)))
    prob = data.point_cloud(15, translate=False, noise=0.01, outlier_fraction=0.3, seed=g)
    cases.append(("zero weight on the outliers", prob.P, prob.Q, prob.inlier.to(torch.float64)))
    P = torch.randn(10, 3, generator=g, dtype=torch.float64)
    cases.append(("Q = -P (a point reflection)", P, -P, torch.rand(10, generator=g, dtype=torch.float64) + 0.5))
    mirror = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    P = torch.randn(20, 3, generator=g, dtype=torch.float64) * torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
    R = data.random_rotation(seed=g)
    cases.append(("a mirrored, rotated copy of P", P, P @ mirror @ R.T, torch.ones(20, dtype=torch.float64)))
    return cases


def _svd_parts(P, Q, w):
    M = torch.einsum("n,ni,nj->ij", w, Q, P)
    return torch.linalg.svd(M)


def _kabsch_wrong_no_det(P, Q, w):
    U, _, Vh = _svd_parts(P, Q, w)
    return U @ Vh


def _kabsch_wrong_column_flip(P, Q, w):
    U, _, Vh = _svd_parts(P, Q, w)
    if torch.linalg.det(U @ Vh) < 0:
        Vh = Vh.clone()
        Vh[:, 2] *= -1
    return U @ Vh


def _kabsch_wrong_unweighted(P, Q, w):
    return kabsch(P, Q)


def _kabsch_wrong_transposed(P, Q, w):
    return kabsch(P, Q, w).T


@exercise("01.kabsch", wrong=[(_kabsch_wrong_transposed, "transpose"), (_kabsch_wrong_unweighted, "weights"),
                              (_kabsch_wrong_no_det, "det"), (_kabsch_wrong_column_flip, "column")])
def check_kabsch(fn) -> str:
    """fn(P (N, 3), Q (N, 3), w (N,)) -> the rotation minimising sum_i w_i ||R p_i - q_i||^2."""
    cases = _cases()
    for name, P, Q, w in cases:
        got = torch.as_tensor(np.asarray(fn(P.clone(), Q.clone(), w.clone()), dtype=np.float64))
        want = kabsch(P, Q, w)
        if got.shape != (3, 3):
            raise Hint(f"return a 3x3 rotation matrix; got shape {tuple(got.shape)}")
        if torch.allclose(got, want, atol=1e-8):
            continue
        where = f"on {name}"
        if torch.allclose(got, want.T, atol=1e-8):
            raise Hint(f"{where} you return R^T: transpose M (it is sum_i w_i q_i p_i^T, q on the left) or the result")
        if torch.allclose(got, kabsch(P, Q), atol=1e-8):
            raise Hint(f"{where} your answer ignores the weights: M = sum_i w_i q_i p_i^T")
        det = float(torch.linalg.det(got))
        if det < 0:
            raise Hint(f"{where} det R = {det:.3f}: that is a reflection. Use R = U diag(1, 1, det(U V^T)) V^T")
        if abs(det - 1) < 1e-8 and torch.allclose(got.T @ got, torch.eye(3, dtype=torch.float64), atol=1e-8):
            raise Hint(f"{where} you return a rotation, but not the best one. Flipping a column of V^T (or of U) "
                       "is not the fix: flip the last singular direction, R = U diag(1, 1, det(U V^T)) V^T")
        raise Hint(f"{where} expected\n{np.round(want.numpy(), 4)}\ngot\n{np.round(got.numpy(), 4)}")
    return f"matches kabsch() on {len(cases)} hidden cases, including weights and reflections"
