"""The MinBackProp paper's two toys: learning per-point weights through a solver by SGD.

Rotation toy (Sungatullina & Pajdla 2024, toy 1): four points P, the true rotation is the
identity, but the point p_0 = (1, 0, 0) is observed at the outlier q_0 = (1 - d, d, 0)
(d = 0.1 in the paper). Weights w, used as relu(w)^2, start at 0.25; the loss is the angle of
the weighted Kabsch rotation R(w) (which is the error, the truth being I). Gradient descent on w
drives the outlier's weight to zero, because only that makes R(w) = I.

Fundamental-matrix toy (toy 2): 15 correspondences of a synthetic two-view scene in normalised
coordinates, the first one an outlier; the weighted 8-point F(w) is compared with the true
E = [t]_x R by loss = 1 - <F, E/|E|>^2 (zero exactly when F = +-E/|E|, whatever the sign).

Both are trained by ``train_weights`` with any backward of the solver; the history records, per
step, the loss, the effective weights and whether the gradient was finite.

``kabsch_angle_grad`` is the rotation toy's loss and its IFT gradient in closed form, batched in
NumPy (no autograd graph): ``train_rotation_ift`` uses it to run the toy in a few milliseconds,
the path of ``train_weights(rotation_toy(d)[0], "ift")`` to round-off. The toy lab uses it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from mbp_teach import data as mbp_data
from mbp_teach import validation as val
from mbp_teach.gradients.backward import check_mode
from mbp_teach.solvers import eight_point, kabsch


@dataclass
class WeightProblem:
    """A toy: ``loss(effective_weights, backward)`` and which entry is the outlier."""

    loss: Callable[[torch.Tensor, str], torch.Tensor]
    n: int
    outlier: int
    name: str
    unit: str  # unit of the loss as recorded in the history ("deg" or "1")
    scale: float = 1.0  # history value = scale * loss


@dataclass
class WeightHistory:
    """Per step k = 0..steps: loss (in ``unit``) and effective weights relu(w)^2 before step k."""

    backward: str
    loss: list[float] = field(default_factory=list)
    weights: list[list[float]] = field(default_factory=list)
    backward_seconds: list[float] = field(default_factory=list)
    failed_at: int | None = None  # first step with a non-finite loss or gradient
    failure: str = ""

    @property
    def stable(self) -> bool:
        return self.failed_at is None

    def outlier_ratio(self, outlier: int) -> float:
        """Final effective weight of the outlier divided by the smallest inlier's."""
        w = self.weights[-1]
        inliers = [x for i, x in enumerate(w) if i != outlier]
        return w[outlier] / min(inliers) if min(inliers) > 0 else math.inf


def effective(w: torch.Tensor) -> torch.Tensor:
    """The weight the solver sees: relu(w)^2 (non-negative, with gradient 2 w where w > 0)."""
    return torch.relu(w) ** 2


def rotation_toy(displacement: float = 0.1) -> tuple[WeightProblem, torch.Tensor, torch.Tensor]:
    """The rotation toy: (problem, P, Q); the outlier is point 0, moved by ``displacement``."""
    val.check_range(displacement, "displacement", 0.0, 1.0, closed="right")
    P = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    Q = P.clone()
    Q[0] = torch.tensor([1.0 - displacement, displacement, 0.0])

    def loss(weights: torch.Tensor, backward: str) -> torch.Tensor:
        return mbp_data.rotation_angle(kabsch(P, Q, weights, backward=backward))

    return WeightProblem(loss, 4, 0, "rotation", "deg", 180.0 / math.pi), P, Q


def fundamental_toy(n: int = 15, displacement: float = 0.1, seed: int = 0,
                    noise: float = 0.0) -> tuple[WeightProblem, mbp_data.TwoView]:
    """The fundamental-matrix toy: (problem, scene); correspondence 0 is an outlier.

    The outlier's point in image 2 is moved by ``displacement`` (normalised units, about
    ``displacement`` x 500 pixels) in a random direction; ``noise`` is in pixels.
    """
    if not isinstance(n, int) or n < 9:
        raise ValueError(f"n: the 8-point toy needs at least 9 correspondences (8 inliers + the outlier), got {n!r}")
    val.check_range(displacement, "displacement", 0.0, 1.0, closed="right")
    scene = mbp_data.two_view(n, noise=noise, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    direction = torch.randn(2, generator=g)
    scene.x2[0] = scene.x2[0] + displacement * direction / direction.norm()
    scene.inlier[0] = False
    E = scene.E / torch.linalg.matrix_norm(scene.E)
    x1, x2 = scene.x1, scene.x2

    def loss(weights: torch.Tensor, backward: str) -> torch.Tensor:
        F = eight_point(x1, x2, weights, backward=backward)
        return 1.0 - (F * E).sum() ** 2

    return WeightProblem(loss, n, 0, "fundamental", "1"), scene


def train_weights(problem: WeightProblem, backward: str = "ift", *, lr: float = 0.1, steps: int = 30,
                  w0: float = 0.25) -> WeightHistory:
    """Plain SGD on w with the gradient of ``problem.loss(relu(w)^2)`` taken by ``backward``.

    Stops at the first non-finite loss or gradient (the run is then unstable, ``failed_at`` set).
    A setting the solver refuses (e.g. every weight driven to zero by a too large lr) raises the
    solver's ValueError, naming the step.
    """
    check_mode(backward)
    val.check_positive(lr, "lr")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: need a positive integer, got {steps!r}")
    val.check_positive(w0, "w0")
    w = torch.full((problem.n,), float(w0), requires_grad=True)
    hist = WeightHistory(backward)
    for k in range(steps + 1):
        ew = effective(w)
        hist.weights.append(ew.detach().tolist())
        try:
            loss = problem.loss(ew, backward)
        except ValueError as exc:
            raise ValueError(f"step {k}: {exc} (try a smaller lr)") from None
        hist.loss.append(problem.scale * float(loss.detach()))
        if k == steps:
            break
        start = time.perf_counter()
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            (grad,) = torch.autograd.grad(loss, w)
        hist.backward_seconds.append(time.perf_counter() - start)
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            hist.failed_at = k
            hist.failure = "non-finite loss" if not torch.isfinite(loss) else "non-finite gradient"
            break
        with torch.no_grad():
            w -= lr * grad
    return hist


def _vee(A: np.ndarray) -> np.ndarray:
    """(A21, A02, A10) of (..., 3, 3): the axial vector of a skew matrix ([x]_x has vee x)."""
    return np.stack([A[..., 2, 1], A[..., 0, 2], A[..., 1, 0]], -1)


def _hat(x: np.ndarray) -> np.ndarray:
    """[x]_x, the cross-product matrix of (..., 3): [x]_x y = x × y."""
    z = np.zeros(x.shape[:-1])
    return np.stack([np.stack([z, -x[..., 2], x[..., 1]], -1),
                     np.stack([x[..., 2], z, -x[..., 0]], -1),
                     np.stack([-x[..., 1], x[..., 0], z], -1)], -2)


def kabsch_angle_grad(P, Q, w) -> tuple[np.ndarray, np.ndarray]:
    """Angle theta (radians) of the weighted Kabsch rotation R(w), and d theta / d w by the IFT, in closed form.

    P, Q: (..., N, 3); w: (..., N) non-negative; any batch shape. Returns theta (...) and grad (..., N).
    R maximises tr(R^T M), M = sum_i w_i q_i p_i^T, so S = R^T M is symmetric. Perturbing M by dM and R
    by R [phi]_x keeps R^T M symmetric when (tr(S) I - S) phi = vee(R^T dM - dM^T R): the implicit
    function theorem, a 3x3 system whose eigenvalues are sums of two singular values (s_i + s_j, with the
    sign of det for the smallest). With a = vee(A - A^T), A = R^T d theta/dR, the chain rule collapses to
    d theta / dM = R [b]_x with (tr(S) I - S) b = a, and d theta / d w_i = q_i^T (R [b]_x) p_i.
    theta = atan2(|vee(R - R^T)| / 2, (tr R - 1) / 2), as ``data.rotation_angle``.
    Raises ValueError when M has rank < 2 (the rotation is not determined), as ``kabsch`` does.
    """
    theta, grad, deficient = _angle_grad(P, Q, w)
    if np.any(deficient):
        raise ValueError(RANK_MESSAGE)
    return theta, grad


RANK_MESSAGE = ("w: the weighted points are collinear or coincident (cross-covariance rank < 2), "
                "so the rotation is not determined")


def _cofactor(X: np.ndarray) -> np.ndarray:
    """Cofactor matrices of (..., 3, 3): det(X) X^{-T}, rows are cross products of X's rows."""
    a, b, c = X[..., 0, 0], X[..., 0, 1], X[..., 0, 2]
    d, e, f = X[..., 1, 0], X[..., 1, 1], X[..., 1, 2]
    g, h, i = X[..., 2, 0], X[..., 2, 1], X[..., 2, 2]
    C = np.empty_like(X)
    C[..., 0, 0], C[..., 0, 1], C[..., 0, 2] = e * i - f * h, f * g - d * i, d * h - e * g
    C[..., 1, 0], C[..., 1, 1], C[..., 1, 2] = c * h - b * i, a * i - c * g, b * g - a * h
    C[..., 2, 0], C[..., 2, 1], C[..., 2, 2] = b * f - c * e, c * d - a * f, a * e - b * d
    return C


def _det3(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """det of (..., 3, 3) from its cofactors C (expansion along the first row)."""
    return (X[..., 0, :] * C[..., 0, :]).sum(-1)


def kabsch_rotations(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations maximising tr(R^T M) for M (..., 3, 3), and which M are rank deficient (``kabsch``'s test).

    Where det M > 0 the rotation is the polar factor of M, found by the scaled Newton iteration
    X <- (g X + X^{-T} / g) / 2 (quadratic convergence, 3x3 inverses by cofactors): a few
    elementwise array operations for a whole batch, where LAPACK's SVD costs microseconds per
    matrix. Elsewhere (det M <= 0, slow convergence, rank in doubt) the SVD answers, as in ``kabsch``.
    """
    M = np.asarray(M, dtype=np.float64)
    batch = M.shape[:-2]
    M = M.reshape(-1, 3, 3)
    R = np.empty_like(M)
    # rank test: s2 <= tol s1 implies e2 = sum of 2x2 principal minors of M^T M <= 3 tol^2 tr(M^T M)^2
    G = np.swapaxes(M, -1, -2) @ M
    tr = np.trace(G, axis1=-2, axis2=-1)
    e2 = np.trace(_cofactor(G), axis1=-2, axis2=-1)
    tol = 1e3 * np.finfo(np.float64).eps
    doubt = ~(e2 > 3 * tol**2 * tr**2)
    det = _det3(M, _cofactor(M))
    fast = ~doubt & (det > 1e-6 * np.sqrt(tr) ** 3)
    X = M[fast]
    done = np.zeros(len(X), bool)
    with np.errstate(all="ignore"):
        for _ in range(30):
            C = _cofactor(X)
            Y = C / _det3(X, C)[:, None, None]  # X^{-T}
            g = np.sqrt(np.sqrt((Y**2).sum((-1, -2)) / (X**2).sum((-1, -2))))
            new = 0.5 * (g[:, None, None] * X + Y / g[:, None, None])
            step = np.sqrt(((new - X) ** 2).sum((-1, -2)))
            X = new
            done = step <= 1e-14
            if done.all():
                break
    idx = np.flatnonzero(fast)
    R[idx[done]] = X[done]
    slow = np.ones(len(M), bool)
    slow[idx[done]] = False
    deficient = np.zeros(len(M), bool)
    if slow.any():
        U, s, Vh = np.linalg.svd(M[slow])
        sign = np.sign(np.linalg.det(U @ Vh))
        R[slow] = (U * np.stack([np.ones_like(sign), np.ones_like(sign), sign], -1)[..., None, :]) @ Vh
        deficient[slow] = rank_deficient(s)
    return R.reshape(batch + (3, 3)), deficient.reshape(batch)


def _angle_grad(P, Q, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``kabsch_angle_grad`` without the rank test, also returning which problems are rank deficient."""
    P, Q, w = (np.asarray(a, dtype=np.float64) for a in (P, Q, w))
    M = np.einsum("...n,...ni,...nj->...ij", w, Q, P)
    R, deficient = kabsch_rotations(M)
    Rt = np.swapaxes(R, -1, -2)
    v = _vee(R - Rt)
    norm = np.sqrt((v**2).sum(-1))
    sn, c = norm / 2, (np.trace(R, axis1=-2, axis2=-1) - 1) / 2
    theta = np.arctan2(sn, c)
    # d theta / dR of atan2(s, c): s = |v| / 2 gives [v/|v|]_x / 2, c = (tr R - 1) / 2 gives I / 2
    axis = np.divide(v, norm[..., None], out=np.zeros_like(v), where=norm[..., None] > 0)
    G = (c[..., None, None] * _hat(axis) - sn[..., None, None] * np.eye(3)) / (2 * (sn**2 + c**2))[..., None, None]
    A = Rt @ G
    a = _vee(A - np.swapaxes(A, -1, -2))
    S = Rt @ M
    K = np.trace(S, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) - S
    CK = _cofactor(K)  # K is symmetric: K^{-1} = cof(K) / det K
    with np.errstate(all="ignore"):
        b = np.einsum("...ij,...j->...i", CK, a) / _det3(K, CK)[..., None]
    grad = np.einsum("...ni,...ij,...nj->...n", Q, R @ _hat(b), P)
    return theta, grad, deficient


def rank_deficient(s: np.ndarray) -> np.ndarray:
    """Per problem, from singular values (..., 3) in decreasing order: s2 negligible next to s1 (``kabsch``'s test)."""
    return s[..., 1] <= 1e3 * np.finfo(np.float64).eps * s[..., 0]


@dataclass
class RotationRuns:
    """``train_rotation_ift_batch``: B runs of the rotation toy, each ``steps`` long (a shorter run is a prefix).

    loss (B, steps+1) in degrees and weights (B, steps+1, 4) are NaN after a run stopped; ``stopped[b]``
    is the step at which run b stopped (-1: it did not); ``refused[b]`` is True when the solver refused the
    weights there (a ValueError in ``train_weights``), False when the loss or gradient turned non-finite.
    """

    loss: np.ndarray
    weights: np.ndarray
    stopped: np.ndarray
    refused: np.ndarray
    nonfinite_loss: np.ndarray

    def history(self, b: int, steps: int) -> WeightHistory:
        """Run b cut at ``steps``, as ``train_weights`` returns it (or raises, if refused by then)."""
        k = int(self.stopped[b])
        hist = WeightHistory("ift")
        last = steps if k < 0 or k > steps else k
        if k >= 0 and k <= steps and self.refused[b]:
            raise ValueError(f"step {k}: {RANK_MESSAGE} (try a smaller lr)")
        hist.loss = self.loss[b, : last + 1].tolist()
        hist.weights = self.weights[b, : last + 1].tolist()
        if k >= 0 and k < steps:
            hist.failed_at = k
            hist.failure = "non-finite loss" if self.nonfinite_loss[b] else "non-finite gradient"
        return hist


def train_rotation_ift_batch(displacements, lrs, steps: int, w0: float = 0.25) -> RotationRuns:
    """Many runs of ``train_weights(rotation_toy(d)[0], "ift", lr=lr, steps=steps)`` at once (d, lr paired).

    One batched closed-form solve and gradient (``kabsch_angle_grad``) per step for all runs; the
    path of each agrees with the autograd-graph version to round-off. Runs that stop (refused or
    non-finite) are frozen and marked, the others go on.
    """
    d = np.atleast_1d(np.asarray(displacements, dtype=np.float64))
    lr = np.atleast_1d(np.asarray(lrs, dtype=np.float64))
    d, lr = np.broadcast_arrays(d, lr)
    for x in d:
        val.check_range(float(x), "displacement", 0.0, 1.0, closed="right")
    for x in lr:
        val.check_positive(float(x), "lr")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: need a positive integer, got {steps!r}")
    val.check_positive(w0, "w0")
    _, P, Q = rotation_toy(0.1)
    P = P.double().numpy()
    B = len(d)
    Q = np.broadcast_to(Q.double().numpy(), (B, 4, 3)).copy()
    Q[:, 0] = np.stack([1.0 - d, d, np.zeros(B)], -1)
    w = np.full((B, 4), float(w0))
    loss = np.full((B, steps + 1), np.nan)
    weights = np.full((B, steps + 1, 4), np.nan)
    stopped = np.full(B, -1)
    refused = np.zeros(B, bool)
    nonfinite_loss = np.zeros(B, bool)
    live = np.ones(B, bool)
    for k in range(steps + 1):
        ew = np.maximum(w, 0.0) ** 2
        weights[live, k] = ew[live]
        ew[~live] = 1.0  # frozen runs: any well-posed weights, their results are not used
        with np.errstate(all="ignore"):
            theta, grad, deficient = _angle_grad(P, Q, ew)
        bad = live & deficient
        stopped[bad], refused[bad], live[bad] = k, True, False
        loss[live, k] = math.degrees(1.0) * theta[live]
        if k == steps:
            break
        g = grad * 2.0 * np.maximum(w, 0.0)  # chain rule through relu(w)^2
        bad = live & ~(np.isfinite(theta) & np.isfinite(g).all(-1))
        stopped[bad], nonfinite_loss[bad], live[bad] = k, ~np.isfinite(theta[bad]), False
        w = np.where(live[:, None], w - lr[:, None] * g, w)
    return RotationRuns(loss, weights, stopped, refused, nonfinite_loss)


def train_rotation_ift(displacement: float = 0.1, *, lr: float = 0.1, steps: int = 30,
                       w0: float = 0.25) -> WeightHistory:
    """``train_weights(rotation_toy(displacement)[0], "ift", ...)`` with the closed-form gradient (one run)."""
    return train_rotation_ift_batch([displacement], [lr], steps, w0).history(0, steps)
