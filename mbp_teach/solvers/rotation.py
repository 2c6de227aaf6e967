"""Weighted Kabsch: the rotation that best maps one point set onto another.

Minimise sum_i w_i ||R p_i - q_i||^2 over rotations R (R^T R = I, det R = +1). Expanding,
this is maximising tr(R^T M) with M = sum_i w_i q_i p_i^T. With the SVD M = U S V^T the
answer is R = U diag(1, 1, d) V^T, d = det(U V^T): d = -1 replaces the best *orthogonal*
matrix, a reflection, by the best rotation (flipping the direction of least singular value).
The rotation is unique when M has rank >= 2, i.e. the weighted points span a plane.

``rigid_transform`` adds a translation: centring both sets on their weighted centroids
separates it, t = q_bar - R p_bar.

Each solver's declaration (``KABSCH``, ``RIGID``: ``mbp_teach.solvers.spec.SolverSpec``) is at the end:
what its answer satisfies as a square residual (IFT) and as a declarative node (DDN), its test
problems (random, or a symmetric planar set with nearly repeated singular values), its loss and its
benchmark inputs.
"""

from __future__ import annotations

import functools

import torch

from mbp_teach import data
from mbp_teach.gradients.backward import Unknowns, check_mode, dispatch, flat
from mbp_teach.gradients.ddn import DeclarativeNode
from mbp_teach.gradients.implicit import straight_through
from mbp_teach.solvers import _checks
from mbp_teach.solvers.spec import SolverSpec, fixed_weights, register


def cross_covariance(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """M = sum_i w_i q_i p_i^T, (..., 3, 3)."""
    return torch.einsum("...n,...ni,...nj->...ij", w, Q, P)


def _kabsch_forward(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The weighted Kabsch rotation, plain autograd-differentiable; inputs already validated.

    P, Q: (..., N, 3); w: (..., N) non-negative. Returns R (..., 3, 3) with det R = +1.
    Autograd goes through ``torch.linalg.svd``; its gradient carries 1/(s_i^2 - s_j^2) and is
    unstable when two singular values of M meet.
    """
    U, _, Vh = torch.linalg.svd(cross_covariance(P, Q, w))
    # d is +-1 and locally constant: it has no gradient, and detaching avoids det's backward.
    d = torch.linalg.det(U @ Vh).detach().sign()
    ones = torch.ones_like(d)
    return (U * torch.stack([ones, ones, d], dim=-1).unsqueeze(-2)) @ Vh


def weighted_centroid(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_i w_i x_i / sum_i w_i, (..., 3)."""
    return (w.unsqueeze(-1) * X).sum(-2) / w.sum(-1, keepdim=True)


def _rigid_forward(P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) minimising sum_i w_i ||R p_i + t - q_i||^2; inputs already validated."""
    p_bar, q_bar = weighted_centroid(P, w), weighted_centroid(Q, w)
    R = _kabsch_forward(P - p_bar.unsqueeze(-2), Q - q_bar.unsqueeze(-2), w)
    t = q_bar - (R @ p_bar.unsqueeze(-1)).squeeze(-1)
    return R, t


def _validate(P, Q, w, centred: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    need = 3 if centred else 2
    P = _checks.points(P, "P", 3, need)
    Q = _checks.points(Q, "Q", 3, need)
    P, Q = _checks.pair(P, Q, ("P", "Q"))
    w = _checks.weights(w, P, need)
    with torch.no_grad():
        Pd, Qd, wd = P.detach(), Q.detach(), w.detach()
        if centred:
            Pd = Pd - weighted_centroid(Pd, wd).unsqueeze(-2)
            Qd = Qd - weighted_centroid(Qd, wd).unsqueeze(-2)
        s = torch.linalg.svdvals(cross_covariance(Pd, Qd, wd))
    where = "about their weighted centroid " if centred else "about the origin "
    _checks.fail_where(_checks.rank_deficient(s, 1),
                       f"P, Q: the weighted points {where}are collinear or coincident (cross-covariance rank < 2), "
                       "so the rotation is not determined")
    return P, Q, w


def kabsch(P, Q, w=None, *, backward: str = "autograd") -> torch.Tensor:
    """Rotation R (..., 3, 3), det R = +1, minimising sum_i w_i ||R p_i - q_i||^2 (about the origin).

    P, Q: (..., N, 3), N >= 2; w: (..., N) non-negative, default ones. ``backward`` selects the
    gradient ("autograd", "ift", "ddn"; see ``mbp_teach.gradients.backward``).
    Raises ValueError for wrong shapes, NaN/inf, negative or all-zero weights, and point sets
    whose weighted cross-covariance has rank < 2 (collinear through the origin, or coincident).
    """
    check_mode(backward)
    P, Q, w = _validate(P, Q, w, centred=False)
    return dispatch(KABSCH, _kabsch_forward, (P, Q, w), backward)


def rigid_transform(P, Q, w=None, *, backward: str = "autograd") -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) with R (..., 3, 3), t (..., 3) minimising sum_i w_i ||R p_i + t - q_i||^2.

    As ``kabsch``, but the points are centred first, so N >= 3 and the centred sets must not be
    collinear.
    """
    check_mode(backward)
    P, Q, w = _validate(P, Q, w, centred=True)
    return dispatch(RIGID, _rigid_forward, (P, Q, w), backward)


# -- what the answer satisfies: square residuals (IFT) -------------------------------------------------
#
# Optimality of max tr(R^T M) on the rotations is "R^T M is symmetric", i.e. skew(R^T M) = 0 (3 equations),
# and R is orthogonal, sym(R^T R - I) = 0 (6 equations): 9 equations, 9 unknowns R. Writing
# R = R*(I + W + S) with W skew and S symmetric, the sym part sees only 2S, and with K = R*^T M = V diag(k) V^T
# the skew part sees W_ij (k_i + k_j) / 2: dF/dR is invertible iff k_i + k_j != 0, so it carries
# 1/(s_i + s_j). Autograd through the SVD carries 1/(s_i^2 - s_j^2) instead, which is infinite at repeated
# singular values although R is not. A squared-norm constraint ||R^T R - I||^2 = 0 would NOT do: its
# gradient vanishes wherever it holds, so dF/dy would be singular at every solution (Sungatullina & Pajdla,
# MinBackProp, 2024).

_TRIU = torch.triu_indices(3, 3)


def skew3(K: torch.Tensor) -> torch.Tensor:
    """The 3 independent entries of skew(K) = (K - K^T)/2: (K32 - K23, K13 - K31, K21 - K12)/2."""
    return 0.5 * torch.stack([K[..., 2, 1] - K[..., 1, 2], K[..., 0, 2] - K[..., 2, 0], K[..., 1, 0] - K[..., 0, 1]], -1)


def orthogonality(R: torch.Tensor) -> torch.Tensor:
    """The 6 independent entries (upper triangle) of R^T R - I."""
    S = R.transpose(-1, -2) @ R - torch.eye(3, dtype=R.dtype, device=R.device)
    return S[..., _TRIU[0], _TRIU[1]]


def rotation_residual(r: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """F(P, Q, w; R) = (skew(R^T M), sym(R^T R - I)), (..., 9), with R = mat(r), M = sum_i w_i q_i p_i^T."""
    R = r.unflatten(-1, (3, 3))
    return torch.cat([skew3(R.transpose(-1, -2) @ cross_covariance(P, Q, w)), orthogonality(R)], -1)


def rigid_residual(y: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(..., 12): the rotation residual of the centred points and t - (q_bar - R p_bar); y = (vec R, t)."""
    R, t = y[..., :9].unflatten(-1, (3, 3)), y[..., 9:]
    p_bar, q_bar = weighted_centroid(P, w), weighted_centroid(Q, w)
    rot = rotation_residual(y[..., :9], P - p_bar.unsqueeze(-2), Q - q_bar.unsqueeze(-2), w)
    return torch.cat([rot, t - q_bar + (R @ p_bar.unsqueeze(-1)).squeeze(-1)], -1)


# -- ... and as declarative nodes (DDN): one problem at a time, y (n,) -----------------------------------

def rotation_objective(r: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_i w_i |R p_i - q_i|^2 for R = mat(r)."""
    R = r.reshape(3, 3)
    return (w * ((P @ R.T - Q) ** 2).sum(-1)).sum()


def rotation_constraints(r: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The 6 independent entries of R^T R - I (orthogonality; det R = +1 is the branch, not an equation)."""
    return orthogonality(r.reshape(3, 3))


def rigid_objective(y: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_i w_i |R p_i + t - q_i|^2 for y = (vec R, t)."""
    R, t = y[:9].reshape(3, 3), y[9:]
    return (w * ((P @ R.T + t - Q) ** 2).sum(-1)).sum()


def rigid_constraints(y: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return orthogonality(y[:9].reshape(3, 3))


def _rigid_unknowns(out: tuple[torch.Tensor, torch.Tensor], P: torch.Tensor, Q: torch.Tensor, w: torch.Tensor
                    ) -> Unknowns:
    """y0 = (vec R, t) (B, 12) of the flattened batch."""
    R, t = out
    b = R.shape[:-2]
    return Unknowns(torch.cat([flat(R, b).flatten(1), flat(t, b)], dim=1), (flat(P, b), flat(Q, b), flat(w, b)))


def _rigid_output(y: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor], u: Unknowns
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    R, t = out
    return straight_through(R, y[:, :9].reshape(R.shape)), straight_through(t, y[:, 9:].reshape(t.shape))


# -- test problems, losses, benchmark inputs ---------------------------------------------------------------

def symmetric_planar(gap, batch: int = 1, seed: int | torch.Generator = 0, angle: float = 0.3,
                     dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(P, Q, w): 4 points +-(1 + gap) e1, +-e2 turned by a random rotation; Q = P turned by
    ``angle`` about the third axis. M = sum_i q_i p_i^T has singular values (2 (1 + gap)^2, 2, 0):
    relative gap about 2 gap, exactly repeated at gap = 0, where R is still unique (the rotation is
    perfectly determined, only the SVD's singular vectors are not). ``gap``: a number or a (batch,) tensor."""
    g = data.generator(seed)
    gap = torch.as_tensor(gap, dtype=dtype).expand(batch) if not torch.is_tensor(gap) or gap.dim() == 0 else gap.to(dtype)
    one = torch.ones_like(gap)
    zero = torch.zeros_like(gap)
    a = one + gap
    P = torch.stack([torch.stack([a, zero, zero], -1), torch.stack([zero, one, zero], -1),
                     torch.stack([-a, zero, zero], -1), torch.stack([zero, -one, zero], -1)], -2)  # (B, 4, 3)
    R = data.random_rotation((batch,), seed=g, dtype=dtype)
    turn = data.axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=dtype), torch.tensor(angle, dtype=dtype))
    P = P @ R.transpose(-1, -2)
    Q = P @ turn.T
    return P, Q, torch.ones(batch, 4, dtype=dtype)


POINTS = 6


def _inputs(batch: int, seed: int | torch.Generator = 0, gap=None, dtype: torch.dtype = torch.float64,
            translate: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(P, Q, w): ``POINTS`` noisy registered points and weights in [0.5, 1.5); with ``gap``, ``symmetric_planar``
    (shifted by a random translation if ``translate``: a rigid motion's test)."""
    g = data.generator(seed)
    if gap is not None:
        P, Q, w = symmetric_planar(gap, batch, g, dtype=dtype)
        if translate:
            shift = torch.randn(batch, 1, 3, generator=g, dtype=dtype)
            P, Q = P + shift, Q + shift.flip(-1)
        return P, Q, w
    reg = data.point_cloud(POINTS, (batch,), noise=0.1, seed=g, dtype=dtype, translate=translate)
    w = 0.5 + torch.rand(batch, POINTS, generator=g, dtype=dtype)
    return reg.P, reg.Q, w


def _kabsch_loss(R: torch.Tensor) -> torch.Tensor:
    """A fixed random linear functional of R, per problem."""
    return (R * fixed_weights((3, 3)).to(R.dtype)).sum((-1, -2))


def _rigid_loss(out: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """A fixed random linear functional of (R, t), per problem."""
    R, t = out
    return _kabsch_loss(R) + (t * fixed_weights(3, 7).to(t.dtype)).sum(-1)


def _bench(batch: int, points: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    cloud = data.point_cloud(points, batch, noise=0.01, seed=0, dtype=dtype)
    return cloud.P, cloud.Q


KABSCH = register(SolverSpec(
    name="kabsch", solver=kabsch, forward=_kabsch_forward, residual=rotation_residual,
    node=DeclarativeNode(rotation_objective, rotation_constraints, name="kabsch (ddn)"),
    inputs=_inputs, loss=_kabsch_loss, bench=_bench, points=POINTS,
    gap_per_problem=True, gap_decades=(-16, -2), bench_label="{name} ({points} points)"))

RIGID = register(SolverSpec(
    name="rigid_transform", solver=rigid_transform, forward=_rigid_forward, residual=rigid_residual,
    node=DeclarativeNode(rigid_objective, rigid_constraints, name="rigid_transform (ddn)"),
    unknowns=_rigid_unknowns, output=_rigid_output,
    inputs=functools.partial(_inputs, translate=True), loss=_rigid_loss, bench=_bench, points=POINTS,
    gap_per_problem=True, gap_decades=(-16, -2), bench_label="{name} ({points} points)"))
