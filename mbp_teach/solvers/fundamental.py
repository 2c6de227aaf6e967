"""The weighted, Hartley-normalised 8-point algorithm for the fundamental matrix.

Steps (each a function here):
1. ``hartley_normalisation``: move each image's weighted centroid to the origin and scale so
   the weighted RMS distance is sqrt(2); pixel coordinates (hundreds) would otherwise make
   the 9 columns of the epipolar matrix differ by 10^5 in scale and the solution inaccurate.
2. ``least_squares_f``: the unit vector f minimising sum_i w_i (a_i . f)^2, rows
   a_i = kron(x2h_i, x1h_i): the eigenvector of least eigenvalue of ``weighted_moment``
   A^T W A = sum_i w_i a_i a_i^T, which is linear in w, so its gradient with respect to a weight
   is finite even at w_i = 0. Its *value* is taken from the SVD of W^(1/2) A, which is accurate to
   eps * cond(A) instead of eps * cond(A)^2 (it matters for exactly 8 points);
4. ``enforce_rank2``: zero the least singular value (every fundamental matrix has rank 2);
5. undo the normalisation, F = T2^T F_n T1, and scale to unit Frobenius norm.
The sign of F is not determined (F and -F are the same epipolar geometry).

The solver's declaration (``EIGHT_POINT``: ``mbp_teach.solvers.spec.SolverSpec``) is at the end: its
two-stage square residual (IFT), its two declarative nodes (DDN), its test problems (random, or nearly
planar scenes), loss and benchmark inputs.
"""

from __future__ import annotations

import torch

from mbp_teach import data
from mbp_teach.gradients.backward import Unknowns, check_mode, dispatch, flat
from mbp_teach.gradients.ddn import DeclarativeNode
from mbp_teach.gradients.implicit import straight_through
from mbp_teach.solvers import _checks
from mbp_teach.solvers.epipolar import det3, epipolar_rows
from mbp_teach.solvers.spec import SolverSpec, fixed_weights, register

MIN_POINTS = 8


def hartley_normalisation(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_n, T): x_n = T xh with weighted centroid 0 and weighted RMS distance sqrt(2); T (..., 3, 3)."""
    wsum = w.sum(-1, keepdim=True)
    c = (w.unsqueeze(-1) * x).sum(-2) / wsum  # (..., 2)
    d = x - c.unsqueeze(-2)
    ms = (w * (d**2).sum(-1)).sum(-1, keepdim=True) / wsum  # weighted mean squared distance
    s = torch.sqrt(2.0 / ms)  # (..., 1)
    zero, one = torch.zeros_like(s), torch.ones_like(s)
    T = torch.stack([torch.cat([s, zero, -s * c[..., :1]], -1),
                     torch.cat([zero, s, -s * c[..., 1:]], -1),
                     torch.cat([zero, zero, one], -1)], dim=-2)
    return s.unsqueeze(-1) * d, T


def weighted_moment(x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """A^T diag(w) A, (..., 9, 9), with A the epipolar rows of (x1, x2)."""
    A = epipolar_rows(x1, x2)
    return (A * w.unsqueeze(-1)).transpose(-1, -2) @ A


def _square_factor(A: torch.Tensor) -> torch.Tensor:
    """R of A = QR when A has more than 9 rows: same singular values and right vectors, 9x9 (cheaper SVD)."""
    return torch.linalg.qr(A, mode="r").R if A.shape[-2] > 9 else A


def least_squares_f(n1: torch.Tensor, n2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Unit f (..., 9) minimising sum_i w_i (a_i . f)^2: value from the SVD of W^(1/2) A, gradient from eigh.

    Both compute the same function of the inputs; ``f_eigh + (f_svd - f_eigh).detach()`` keeps the
    accurate value and the gradient of the eigenvector of A^T W A (sqrt(w) has no derivative at 0).
    """
    _, V = torch.linalg.eigh(weighted_moment(n1, n2, w))
    f = V[..., :, 0]
    with torch.no_grad():
        A = w.detach().sqrt().unsqueeze(-1) * epipolar_rows(n1.detach(), n2.detach())
        f_svd = torch.linalg.svd(_square_factor(A), full_matrices=A.shape[-2] < 9).Vh[..., -1, :]
        f_svd = f_svd * torch.where((f_svd * f.detach()).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    return f + (f_svd - f.detach())


def enforce_rank2(F: torch.Tensor) -> torch.Tensor:
    """The nearest rank-2 matrix in Frobenius norm: U diag(s1, s2, 0) V^T."""
    U, S, Vh = torch.linalg.svd(F)
    S = torch.cat([S[..., :2], torch.zeros_like(S[..., 2:])], dim=-1)
    return (U * S.unsqueeze(-2)) @ Vh


def _eight_point_forward(x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """F (..., 3, 3), rank 2, unit Frobenius norm, minimising sum_i w_i (x2h^T F x1h)^2 in
    normalised coordinates; inputs already validated. Plain autograd-differentiable
    (through eigh and svd; eigh's gradient needs the two least eigenvalues distinct).
    """
    n1, T1 = hartley_normalisation(x1, w)
    n2, T2 = hartley_normalisation(x2, w)
    Fn = enforce_rank2(least_squares_f(n1, n2, w).unflatten(-1, (3, 3)))
    F = T2.transpose(-1, -2) @ Fn @ T1
    return F / torch.linalg.matrix_norm(F).unsqueeze(-1).unsqueeze(-1)


def _validate(x1, x2, w) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x1 = _checks.points(x1, "x1", 2, MIN_POINTS)
    x2 = _checks.points(x2, "x2", 2, MIN_POINTS)
    x1, x2 = _checks.pair(x1, x2, ("x1", "x2"))
    w = _checks.weights(w, x1, MIN_POINTS)
    with torch.no_grad():
        wd = w.detach()
        for name, x in (("x1", x1), ("x2", x2)):
            c = (wd.unsqueeze(-1) * x.detach()).sum(-2) / wd.sum(-1, keepdim=True)
            spread = (wd * ((x.detach() - c.unsqueeze(-2)) ** 2).sum(-1)).sum(-1)
            _checks.fail_where(spread <= 0, f"{name}: all weighted points coincide")
        n1, _ = hartley_normalisation(x1.detach(), wd)
        n2, _ = hartley_normalisation(x2.detach(), wd)
        s = torch.linalg.svdvals(_square_factor(wd.sqrt().unsqueeze(-1) * epipolar_rows(n1, n2)))
    _checks.fail_where(_checks.rank_deficient(s, 7),
                       "x1, x2: the weighted epipolar system has rank < 8 (degenerate configuration, "
                       "e.g. points on a line), so F is not determined")
    return x1, x2, w


def eight_point(x1, x2, w=None, *, backward: str = "autograd") -> torch.Tensor:
    """Fundamental matrix F (..., 3, 3) with x2h^T F x1h = 0: rank 2, unit Frobenius norm, sign arbitrary.

    x1, x2: (..., N, 2) corresponding points, N >= 8; w: (..., N) non-negative, default ones;
    the algebraic error sum_i w_i (x2h_i^T F x1h_i)^2 is minimised in Hartley-normalised
    coordinates. Raises ValueError for wrong shapes, NaN/inf, negative or all-zero weights,
    fewer than 8 points of non-zero weight, and configurations of rank < 8.
    """
    check_mode(backward)
    x1, x2, w = _validate(x1, x2, w)
    return dispatch(EIGHT_POINT, _eight_point_forward, (x1, x2, w), backward)


# -- what the answer satisfies: a square residual (IFT) ------------------------------------------------------
#
# The 8-point algorithm is two optimisations, so its unknowns are those of both (14 equations, 14 unknowns):
# (f, lam) with (M_n - lam I) f = 0, (|f|^2 - 1)/2 = 0 -- the weighted epipolar normal equations on the unit
# sphere, regular iff lam is a simple eigenvalue of M_n = A^T W A -- and (v, mu) with (F0^T F0 - mu I) v = 0,
# (|v|^2 - 1)/2 = 0, the right singular vector of the least singular value of F0 = mat(f), regular iff
# s_2 != s_3. The rank-2 matrix is F0 - F0 v v^T (= U diag(s1, s2, 0) V^T) and ``eight_point_output`` undoes
# the normalisation explicitly. (Using (u, v, s) with F0 v = s u instead would be singular when s_3 = 0, i.e.
# for every noise-free problem.)

def eight_point_residual(z: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(..., 14) for z = (f (9), lam, v (3), mu): ((M_n - lam) f, (|f|^2-1)/2, (F0^T F0 - mu) v, (|v|^2-1)/2)."""
    f, lam, v, mu = z[..., :9], z[..., 9:10], z[..., 10:13], z[..., 13:14]
    n1, _ = hartley_normalisation(x1, w)
    n2, _ = hartley_normalisation(x2, w)
    Mn = weighted_moment(n1, n2, w)
    F0 = f.unflatten(-1, (3, 3))
    S = F0.transpose(-1, -2) @ F0
    return torch.cat([(Mn @ f.unsqueeze(-1)).squeeze(-1) - lam * f, _half_norm(f),
                      (S @ v.unsqueeze(-1)).squeeze(-1) - mu * v, _half_norm(v)], -1)


def _half_norm(a: torch.Tensor) -> torch.Tensor:
    """(|a|^2 - 1)/2, (..., 1): zero on the unit sphere."""
    return 0.5 * ((a * a).sum(-1, keepdim=True) - 1.0)


def eight_point_output(z: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """F = T2^T (F0 - F0 v v^T) T1 / ||.||, batched: z (B, 14), x1, x2 (B, N, 2), w (B, N) -> (B, 3, 3)."""
    _, T1 = hartley_normalisation(x1, w)
    _, T2 = hartley_normalisation(x2, w)
    F0, v = z[..., :9].unflatten(-1, (3, 3)), z[..., 10:13]
    Fn = F0 - (F0 @ v.unsqueeze(-1)) @ v.unsqueeze(-2)
    F = T2.transpose(-1, -2) @ Fn @ T1
    return F / torch.linalg.matrix_norm(F)[..., None, None]


def eight_point_unknowns(x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """The solution z (B, 14) of ``eight_point_residual`` behind the solver's output F (B, 3, 3).

    Recomputes the two eigen-problems (no gradient) and fixes f's sign so that
    ``eight_point_output(z)`` is F, not -F.
    """
    n1, _ = hartley_normalisation(x1, w)
    n2, _ = hartley_normalisation(x2, w)
    lam, V = torch.linalg.eigh(weighted_moment(n1, n2, w))
    f = V[..., :, 0]
    F0 = f.unflatten(-1, (3, 3))
    mu, W = torch.linalg.eigh(F0.transpose(-1, -2) @ F0)
    z = torch.cat([f, lam[..., :1], W[..., :, 0], mu[..., :1]], -1)
    sign = torch.sign((eight_point_output(z, x1, x2, w) * F).sum((-1, -2)))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return torch.cat([sign[..., None] * f, z[..., 9:]], -1)


def _unknowns(F: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> Unknowns:
    """z0 (B, 14) behind the forward's F; xs keep their graph to x1, x2, w (the output uses them too)."""
    batch = F.shape[:-2]
    xs = (flat(x1, batch), flat(x2, batch), flat(w, batch))
    with torch.no_grad():
        z0 = eight_point_unknowns(*xs, F=flat(F, batch))
    return Unknowns(z0, xs)


def _output(z: torch.Tensor, F: torch.Tensor, u: Unknowns) -> torch.Tensor:
    """F's values; the gradient of the explicit de-normalisation of z (also towards x1, x2, w directly)."""
    return straight_through(F, eight_point_output(z, *u.xs).reshape(F.shape))


# -- ... and as two declarative nodes (DDN), one per optimisation: one problem at a time ---------------------

def eigen_objective(f: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """f^T M_n f: the weighted algebraic epipolar error in Hartley-normalised coordinates."""
    n1, _ = hartley_normalisation(x1, w)
    n2, _ = hartley_normalisation(x2, w)
    return f @ weighted_moment(n1, n2, w) @ f


def unit_norm(y: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    """(|y|^2 - 1)/2, (1,)."""
    return (0.5 * (y @ y - 1.0)).reshape(1)


def rank2_objective(Fn: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """|Fn - F0|^2: the nearest matrix ..."""
    return ((Fn - f) ** 2).sum()


def rank2_constraint(Fn: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """... of rank 2 (det Fn = 0)."""
    return det3(Fn.reshape(3, 3)).reshape(1)


EIGEN = DeclarativeNode(eigen_objective, unit_norm, name="eight_point least squares (ddn)")
RANK2 = DeclarativeNode(rank2_objective, rank2_constraint, name="eight_point rank 2 (ddn)")


def _ddn(forward, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The DDN backward, an override of the shared loop: two nodes in a row (f = EIGEN(x), Fn = RANK2(f)),
    then the explicit de-normalisation."""
    with torch.no_grad():
        F = forward(x1, x2, w)
    u = _unknowns(F, x1, x2, w)
    xs, z0 = u.xs, u.y0
    with torch.no_grad():
        F0, v = z0[:, :9].unflatten(-1, (3, 3)), z0[:, 10:13]
        Fn0 = (F0 - (F0 @ v.unsqueeze(-1)) @ v.unsqueeze(-2)).flatten(1)
    group = object()  # the two nodes of one solver call: one report per backward
    f = EIGEN.attach(z0[:, :9], xs, group=group)
    Fn = RANK2.attach(Fn0, (f,), group=group)
    _, T1 = hartley_normalisation(xs[0], xs[2])
    _, T2 = hartley_normalisation(xs[1], xs[2])
    out = T2.transpose(-1, -2) @ Fn.unflatten(-1, (3, 3)) @ T1
    out = out / torch.linalg.matrix_norm(out)[..., None, None]
    return straight_through(F, out.reshape(F.shape))


# -- test problems, loss, benchmark inputs -------------------------------------------------------------------

POINTS = 12


def _inputs(batch: int, seed: int | torch.Generator = 0, gap=None, dtype: torch.dtype = torch.float64
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x1, x2, w): ``POINTS`` noisy correspondences (0.5 px) and weights in [0.5, 1.5); with ``gap``, a nearly
    planar scene (depth spread ``gap`` around 6): the 8-point system approaches rank 6, F stops being determined."""
    g = data.generator(seed)
    depth = (4.0, 8.0) if gap is None else (6.0, 6.0 + float(gap))
    tv = data.two_view(POINTS, (batch,), noise=0.5, depth=depth, seed=g, dtype=dtype)
    w = 0.5 + torch.rand(batch, POINTS, generator=g, dtype=dtype)
    return tv.x1, tv.x2, w


def _loss(F: torch.Tensor) -> torch.Tensor:
    """The square of a fixed random linear functional of F, per problem (F's sign is arbitrary)."""
    return (F * fixed_weights((3, 3)).to(F.dtype)).sum((-1, -2)) ** 2


def _bench(batch: int, points: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    scene = data.two_view(points, batch, noise=0.5, seed=1, dtype=dtype)
    return scene.x1, scene.x2


EIGHT_POINT = register(SolverSpec(
    name="eight_point", solver=eight_point, forward=_eight_point_forward, residual=eight_point_residual,
    node=None, unknowns=_unknowns, output=_output, backwards={"ddn": _ddn},
    inputs=_inputs, loss=_loss, bench=_bench, points=POINTS, bench_label="{name} ({points} points)"))
