"""Checkers for notebook 01 (minimal solvers)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from mbp_teach import data
from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.solvers import kabsch
from mbp_teach.solvers import rotation as _rotation

# The library's own Kabsch entry points: an answer that reaches any of them (under whatever name it was
# imported) has not implemented the rotation itself.
_LIBRARY_FILE = str(Path(_rotation.__file__).resolve())
_LIBRARY_NAMES = {"kabsch", "rigid_transform", "_kabsch_forward", "_rigid_forward"}


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
    P = torch.randn(16, 3, generator=g, dtype=torch.float64) + torch.tensor([2.0, -1.0, 1.5], dtype=torch.float64)
    R = data.random_rotation(seed=g)
    w = torch.rand(16, generator=g, dtype=torch.float64) * 2.0 + 0.1
    cases.append(("points away from the origin, unequal weights", P, P @ R.T + 0.05 * torch.randn(16, 3, generator=g),
                  w))
    return cases


def _calls_library(fn: Callable, *args) -> tuple[object, list[str]]:
    """Run ``fn(*args)`` and list the library Kabsch functions it entered (found with a profiler hook,
    so an alias such as ``from mbp_teach.solvers import kabsch as k`` is caught too)."""
    entered: list[str] = []

    def hook(frame, event, _arg):
        code = frame.f_code
        if event == "call" and code.co_name in _LIBRARY_NAMES and code.co_filename == _LIBRARY_FILE:
            entered.append(code.co_name)

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        out = fn(*args)
    finally:
        sys.setprofile(previous)
    return out, entered


# -- the reference and the plausible mistakes, all built from the same two steps -------------------------

def _svd_parts(P, Q, w):
    M = torch.einsum("n,ni,nj->ij", w, Q, P)   # sum_i w_i q_i p_i^T
    return torch.linalg.svd(M)


def _with_sign_fix(U, Vh):
    d = torch.sign(torch.linalg.det(U @ Vh))
    return U @ torch.diag(torch.stack([torch.ones_like(d), torch.ones_like(d), d])) @ Vh


def _own_kabsch(P, Q, w):
    return _with_sign_fix(*_svd_parts(P, Q, w)[::2])


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
    return _own_kabsch(P, Q, torch.ones_like(w))


def _kabsch_wrong_squared_weights(P, Q, w):
    return _own_kabsch(P, Q, w**2)


def _kabsch_wrong_centred(P, Q, w):
    def centre(X):
        return X - (w[:, None] * X).sum(0) / w.sum()

    return _own_kabsch(centre(P), centre(Q), w)


def _kabsch_wrong_transposed(P, Q, w):
    return _own_kabsch(P, Q, w).T


def _kabsch_wrong_library(P, Q, w):
    return kabsch(P, Q, w)


def _cost(R, P, Q, w) -> float:
    return float((w * ((P @ R.T - Q) ** 2).sum(-1)).sum())


# (mistake, hint) in the order they are tried: each hint names what the answer did and how to fix it.
_DIAGNOSES: list[tuple[Callable, str]] = [
    (lambda P, Q, w: _own_kabsch(P, Q, w).T,
     "you return R^T: transpose M (it is sum_i w_i q_i p_i^T, q on the left) or the result"),
    (_kabsch_wrong_unweighted, "your answer ignores the weights: M = sum_i w_i q_i p_i^T"),
    (_kabsch_wrong_squared_weights,
     "your answer weights each point by w_i^2 (perhaps w was applied to both P and Q): M = sum_i w_i q_i p_i^T "
     "has each weight once"),
    (_kabsch_wrong_centred,
     "you centred the points on their weighted centroids: here R acts about the origin (no translation), so "
     "use P and Q as they are. Centring belongs to rigid_transform, which also estimates t"),
    (_kabsch_wrong_column_flip,
     "you return a rotation, but not the best one: you flipped a column of V^T. Flip the last singular "
     "direction (the last row of V^T): R = U diag(1, 1, det(U V^T)) V^T"),
]


@exercise("01.kabsch", wrong=[(_kabsch_wrong_transposed, "transpose"), (_kabsch_wrong_unweighted, "weights"),
                              (_kabsch_wrong_squared_weights, "w_i^2"), (_kabsch_wrong_centred, "centred"),
                              (_kabsch_wrong_no_det, "reflection"), (_kabsch_wrong_column_flip, "column"),
                              (_kabsch_wrong_library, "calls the library")])
def check_kabsch(fn) -> str:
    """fn(P (N, 3), Q (N, 3), w (N,)) -> the rotation minimising sum_i w_i ||R p_i - q_i||^2, written with
    torch.linalg.svd: an answer that calls mbp_teach's kabsch (or rigid_transform) is refused."""
    cases = _cases()
    for name, P, Q, w in cases:
        out, entered = _calls_library(fn, P.clone(), Q.clone(), w.clone())
        if entered:
            raise Hint(f"your function calls the library's {entered[0]}(): the exercise is to write it yourself. "
                       "Build M = sum_i w_i q_i p_i^T, take torch.linalg.svd(M) and fix the sign of the last "
                       "singular direction (the checker watches which functions your code enters)")
        got = torch.as_tensor(np.asarray(out, dtype=np.float64))
        if got.shape != (3, 3):
            raise Hint(f"return a 3x3 rotation matrix; got shape {tuple(got.shape)}")
        want = kabsch(P, Q, w)
        if torch.allclose(got, want, atol=1e-8):
            continue
        where = f"on {name}:"
        for mistake, hint in _DIAGNOSES:
            if torch.allclose(got, mistake(P, Q, w), atol=1e-8):
                raise Hint(f"{where} {hint}")
        det = float(torch.linalg.det(got))
        if det < 0:
            raise Hint(f"{where} det R = {det:.3f}: that is a reflection, not a rotation. "
                       "Use R = U diag(1, 1, det(U V^T)) V^T")
        if abs(det - 1) < 1e-8 and torch.allclose(got.T @ got, torch.eye(3, dtype=torch.float64), atol=1e-8):
            excess = _cost(got, P, Q, w) - _cost(want, P, Q, w)
            raise Hint(f"{where} you return a rotation, but its cost sum_i w_i ||R p_i - q_i||^2 is "
                       f"{excess:.3g} above the best: check M = sum_i w_i q_i p_i^T and the sign fix "
                       "R = U diag(1, 1, det(U V^T)) V^T")
        raise Hint(f"{where} expected\n{np.round(want.numpy(), 4)}\ngot\n{np.round(got.numpy(), 4)}")
    return f"matches kabsch() on {len(cases)} hidden cases, including weights, reflections and off-centre points"
