"""Checkers for notebook 03 (MinBackProp end to end): the pose AUC and the IFT sensitivity of Kabsch.

Each checker runs the learner's function on cases the notebook does not show. When an answer is
wrong, the checker recomputes the plausible mistakes listed in ``wrong`` on the same case and, if
one of them matches, names that mistake; the test suite feeds the same mistakes to prove it.
"""

from __future__ import annotations

import numpy as np
import torch

from mbp_teach import data
from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.minbackprop.pose import pose_auc
from mbp_teach.solvers import kabsch
from mbp_teach.solvers.rotation import cross_covariance

# ---------------------------------------------------------------------------------------------
# 03.auc: AUC@T of the pose error, the accuracy measure of the relative-pose experiment.


def _auc_cases() -> list[tuple[str, np.ndarray, float]]:
    """(name, errors in degrees, T): failures (inf, NaN), all misses, all exact, an odd threshold."""
    rng = np.random.default_rng(303)
    mixed = np.concatenate([rng.gamma(2.0, 3.0, 37), [np.inf, np.inf, np.nan]])
    rng.shuffle(mixed)
    few = np.concatenate([rng.uniform(0.0, 2.5, 5), rng.uniform(4.0, 30.0, 6), [np.nan] * 3])
    return [("40 errors, 3 of them failures (inf/NaN), T = 7.5", mixed, 7.5),
            ("14 errors, 3 failures, T = 3", few, 3.0),
            ("every error above T = 1", rng.uniform(1.5, 9.0, 8), 1.0),
            ("every error exactly 0, T = 12", np.zeros(6), 12.0)]


def _failures_as_inf(errors) -> np.ndarray:
    e = np.asarray(errors, dtype=float)
    return np.where(np.isfinite(e), e, np.inf)


def _auc_wrong_recall_at_t(errors, T):
    return float(np.mean(_failures_as_inf(errors) <= T))


def _auc_wrong_not_normalised(errors, T):
    return T * float(np.mean(np.clip(1.0 - _failures_as_inf(errors) / T, 0.0, None)))


def _auc_wrong_drop_failures(errors, T):
    e = np.asarray(errors, dtype=float)
    return float(np.mean(np.clip(1.0 - e[np.isfinite(e)] / T, 0.0, None)))


def _auc_wrong_trapezoid(errors, T):
    # The evaluation code many pose benchmarks copy: the recall points joined by straight lines.
    e = np.sort(_failures_as_inf(errors))
    recall = np.arange(1, e.size + 1) / e.size
    e, recall = np.r_[0.0, e], np.r_[0.0, recall]
    last = int(np.searchsorted(e, T))
    r = np.r_[recall[:last], recall[last - 1]]
    x = np.r_[e[:last], T]
    return float(np.sum((r[1:] + r[:-1]) / 2 * np.diff(x)) / T)


def _auc_wrong_stops_at_last_error(errors, T):
    e = np.sort(_failures_as_inf(errors))
    kept = e[e < T]
    n = e.size
    return float(sum((i + 1) / n * (kept[i + 1] - kept[i]) for i in range(kept.size - 1)) / T)


_AUC_MISTAKES = [
    (_auc_wrong_recall_at_t, "that is the recall AT T, one point of the curve; AUC@T is the area under the "
                             "recall curve from 0 to T, divided by T"),
    (_auc_wrong_not_normalised, "you forgot to divide the area by T: AUC@T lies in [0, 1]"),
    (_auc_wrong_drop_failures, "you dropped the failed estimates (inf or NaN error): a failure is a miss at "
                               "every threshold, so it stays in the count n"),
    (_auc_wrong_trapezoid, "the trapezoid rule joins the recall points by straight lines, but recall is a step "
                           "function: it stays at k/n from the k-th smallest error to the next, so integrate "
                           "rectangles"),
    (_auc_wrong_stops_at_last_error, "your area stops at the largest error below T: recall stays flat from "
                                     "there up to T, and that last rectangle counts too"),
]


@exercise("03.auc", wrong=[(_auc_wrong_recall_at_t, "recall AT T"), (_auc_wrong_not_normalised, "divide the area by T"),
                           (_auc_wrong_drop_failures, "dropped the failed"), (_auc_wrong_trapezoid, "step function"),
                           (_auc_wrong_stops_at_last_error, "last rectangle")])
def check_auc(fn) -> str:
    """fn(errors (n,) degrees, T) -> (1/T) * integral_0^T recall(e) de, recall(e) = share of errors <= e."""
    cases = _auc_cases()
    for name, errors, T in cases:
        got = fn(errors.copy(), T)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Hint(f"return one number (a float), got {type(got).__name__}") from None
        want = pose_auc(torch.as_tensor(errors), [T])[0]
        if np.isclose(got, want, rtol=1e-9, atol=1e-12):
            continue
        where = f"on {name}: expected {want:.6f}, got {got:.6f}"
        if not np.isfinite(got):
            raise Hint(f"{where}. A NaN usually means a failed estimate (NaN error) reached the arithmetic: "
                       "treat a non-finite error as an error larger than any threshold")
        for mistake, hint in _AUC_MISTAKES:
            if np.isclose(got, mistake(errors.copy(), T), rtol=1e-9, atol=1e-12):
                raise Hint(f"{where}: {hint}")
        raise Hint(f"{where}. recall(e) is the share of ALL n errors that are <= e (failures included); "
                   "AUC@T = (1/T) * integral of recall(e) from 0 to T")
    return f"matches pose_auc() on {len(cases)} hidden cases, failures included"


# ---------------------------------------------------------------------------------------------
# 03.kabsch_sensitivity: dR/dw_i of the weighted Kabsch rotation by the implicit function theorem.


def _vee(A: torch.Tensor) -> torch.Tensor:
    return torch.stack([A[..., 2, 1], A[..., 0, 2], A[..., 1, 0]], -1)


def _sensitivity_by_autograd(P, Q, w) -> torch.Tensor:
    """Rows D_i = vee(R^T dR/dw_i), from autograd through the SVD (a route independent of the IFT)."""
    R = kabsch(P, Q, w)
    J = torch.autograd.functional.jacobian(lambda ww: kabsch(P, Q, ww, backward="autograd"), w)  # (3, 3, N)
    return _vee(torch.einsum("ji,jkn->nik", R, J))


def _sensitivity_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(name, P, Q, w) in float64; generic rotations, so that R^T q_i differs from q_i."""
    g = torch.Generator().manual_seed(3003)
    cases = []
    prob = data.point_cloud(7, translate=False, noise=0.05, outlier_fraction=0.3, seed=g)
    cases.append(("7 points, 2 of them outliers", prob.P, prob.Q, torch.rand(7, generator=g, dtype=torch.float64) + 0.3))
    prob = data.point_cloud(5, translate=False, noise=0.3, seed=g)
    w = torch.tensor([0.0, 1.0, 0.5, 2.0, 1.5], dtype=torch.float64)
    cases.append(("5 noisy points, the first with weight 0", prob.P, prob.Q, w))
    mirror = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    P = torch.randn(6, 3, generator=g, dtype=torch.float64) * torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
    Q = P @ mirror @ data.random_rotation(seed=g).T + 0.2 * torch.randn(6, 3, generator=g, dtype=torch.float64)
    cases.append(("a noisy mirrored copy (det(U V^T) = -1)", P, Q, torch.rand(6, generator=g, dtype=torch.float64) + 0.5))
    return cases


def _sens_parts(P, Q, w):
    R = kabsch(P, Q, w)
    M = cross_covariance(P, Q, w)
    return R, M, R.T @ M


def _solve_rows(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.solve(A, b.T).T


def _trace_minus(K: torch.Tensor) -> torch.Tensor:
    return torch.trace(K) * torch.eye(3, dtype=K.dtype) - K


def _sens_wrong_sign(P, Q, w):
    R, _, K = _sens_parts(P, Q, w)
    return _solve_rows(_trace_minus(K), torch.linalg.cross(Q @ R, P))


def _sens_wrong_no_rt(P, Q, w):
    _, _, K = _sens_parts(P, Q, w)
    return _solve_rows(_trace_minus(K), torch.linalg.cross(P, Q))


def _sens_wrong_k_alone(P, Q, w):
    R, _, K = _sens_parts(P, Q, w)
    return _solve_rows(K, torch.linalg.cross(P, Q @ R))


def _sens_wrong_m_for_k(P, Q, w):
    R, M, _ = _sens_parts(P, Q, w)
    return _solve_rows(_trace_minus(M), torch.linalg.cross(P, Q @ R))


def _sens_wrong_half(P, Q, w):
    R, _, K = _sens_parts(P, Q, w)
    return 0.5 * _solve_rows(_trace_minus(K), torch.linalg.cross(P, Q @ R))


def _sens_wrong_world_frame(P, Q, w):
    R, _, K = _sens_parts(P, Q, w)
    return _solve_rows(_trace_minus(K), torch.linalg.cross(P, Q @ R)) @ R.T


_SENS_MISTAKES = [
    (_sens_wrong_sign, "your D is -D (opposite sign): check the order of the cross product, "
                       "vee(a b^T - b a^T) = b x a, and the sign of skew([d]_x K)"),
    (_sens_wrong_no_rt, "the right-hand side must be in the rotated frame: p_i x (R^T q_i), not p_i x q_i "
                        "(they agree only when R = I)"),
    (_sens_wrong_k_alone, "the matrix of the linear system is (tr K) I - K, not K: "
                          "[d]_x K + K [d]_x = [((tr K) I - K) d]_x for symmetric K"),
    (_sens_wrong_m_for_k, "use K = R^T M (symmetric at the optimum), not M itself, in (tr K) I - K"),
    (_sens_wrong_half, "your D is half the right one: a factor 2 is lost; skew(A) = (A - A^T)/2 "
                       "appears on BOTH sides of the linearised condition"),
    (_sens_wrong_world_frame, "you return R D_i, the increment on the left (dR = [R D_i]_x R); the exercise asks "
                              "for the body-frame D_i with R(w + eps e_i) = R(w) exp(eps [D_i]_x)"),
]


@exercise("03.kabsch_sensitivity",
          wrong=[(_sens_wrong_sign, "order of the cross product"), (_sens_wrong_no_rt, "p_i x (R^T q_i)"),
                 (_sens_wrong_k_alone, "(tr K) I - K, not K"), (_sens_wrong_m_for_k, "K = R^T M"),
                 (_sens_wrong_half, "factor 2"), (_sens_wrong_world_frame, "body-frame")])
def check_kabsch_sensitivity(fn) -> str:
    """fn(P (N, 3), Q (N, 3), w (N,)) -> D (N, 3), [D_i]_x = R^T dR/dw_i for R = kabsch(P, Q, w)."""
    cases = _sensitivity_cases()
    for name, P, Q, w in cases:
        got = torch.as_tensor(np.asarray(fn(P.clone(), Q.clone(), w.clone()), dtype=np.float64))
        want = _sensitivity_by_autograd(P, Q, w)
        if got.shape == want.shape[::-1]:
            raise Hint(f"return one row per point, shape {tuple(want.shape)}; got {tuple(got.shape)} (transposed?)")
        if got.shape != want.shape:
            raise Hint(f"return D of shape {tuple(want.shape)} (one row D_i per point); got {tuple(got.shape)}")
        tol = 1e-7 * float(want.abs().max())
        if torch.allclose(got, want, rtol=1e-6, atol=tol):
            continue
        where = f"on {name}"
        if not torch.isfinite(got).all():
            raise Hint(f"{where}: your D has NaN/inf: solve the 3x3 system, do not invert something singular")
        for mistake, hint in _SENS_MISTAKES:
            if torch.allclose(got, mistake(P, Q, w), rtol=1e-6, atol=tol):
                raise Hint(f"{where}: {hint}")
        raise Hint(f"{where}: expected\n{np.round(want.numpy(), 5)}\ngot\n{np.round(got.numpy(), 5)}\nLinearise "
                   "skew(R^T M) = 0 with R -> R (I + eps [D_i]_x) and M -> M + eps q_i p_i^T")
    return (f"matches autograd through the SVD on {len(cases)} hidden cases, including a zero weight "
            "and a reflection fix")
