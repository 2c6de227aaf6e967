"""Square, regular residuals F(x, y) = 0 that define each solver's output y(x).

The implicit function theorem needs as many equations as unknowns and an invertible dF/dy at
the solution ("regular"). Every function here takes leading batch dimensions (y: (..., n)), treats the problems
independently (problem b's residual depends only on problem b's y and x, which is what lets the
implicit layer get every problem's Jacobian from one batched vector-Jacobian product per
unknown) and returns (..., n), as long as its unknown y.

Why these systems and not others:

* Rotation (``rotation_residual``, 9 equations, 9 unknowns R): optimality of
  max tr(R^T M), M = sum_i w_i q_i p_i^T, on the rotations is "R^T M is symmetric", i.e.
  skew(R^T M) = 0 (3 equations), and R is orthogonal, sym(R^T R - I) = 0 (6 equations).
  Writing R = R*(I + W + S) with W skew and S symmetric, the sym part sees only 2S, and with
  K = R*^T M = V diag(k) V^T the skew part sees W_ij (k_i + k_j) / 2: dF/dR is invertible iff
  k_i + k_j != 0, so it carries 1/(s_i + s_j). Autograd through the SVD carries
  1/(s_i^2 - s_j^2) instead, which is infinite at repeated singular values although R is not.
  A squared-norm constraint ||R^T R - I||^2 = 0 would NOT do: its gradient vanishes wherever it
  holds, so dF/dy would be singular at every solution (Sungatullina & Pajdla, MinBackProp, 2024).
* Rigid motion (``rigid_residual``, 12 x 12): the rotation residual of the centred points and
  t - (q_bar - R p_bar) = 0.
* Fundamental matrix (``eight_point_residual``, 14 x 14): the 8-point algorithm is two
  optimisations, so its unknowns are those of both: (f, lam) with (M_n - lam I) f = 0,
  (|f|^2 - 1)/2 = 0 -- the weighted epipolar normal equations on the unit sphere, regular iff lam
  is a simple eigenvalue of M_n = A^T W A -- and (v, mu) with (F0^T F0 - mu I) v = 0,
  (|v|^2 - 1)/2 = 0, the right singular vector of the least singular value of F0 = mat(f), regular
  iff s_2 != s_3. The rank-2 matrix is F0 - F0 v v^T (= U diag(s1, s2, 0) V^T) and
  ``eight_point_output`` undoes the normalisation explicitly. (Using (u, v, s) with
  F0 v = s u instead would be singular when s_3 = 0, i.e. for every noise-free problem.)
* Essential matrix (``essential_residual``, 9 x 9, per real solution): 5 epipolar equations,
  (|E|^2 - 1)/2 = 0, det E = 0, and two of the nine trace equations
  T(E) = 2 E E^T E - tr(E E^T) E = 0. The essential matrices of unit norm form a 5-dimensional
  manifold, so exactly 3 of the 10 cubic constraints are independent near a solution, and which
  ones depends on E. In the SVD frame E = U diag(s, s, 0) V^T, dT maps the normal directions
  U(e11 - e22)V^T and U(e12 + e21)V^T to 4 s^2 times themselves, and det E covers U e33 V^T; so we
  use <N1, T(E)> and <N2, T(E)> with N1, N2 those two frame matrices (``essential_frame``, held
  constant: the IFT needs F only to first order at the solution, and near it
  {det = 0, <N_k, T> = 0} is the essential manifold itself). dF/dE is then invertible iff the
  5 epipolar equations are independent on the tangent space: the solution is a simple root.
  This is the 9 x 9 reduction of MinBackProp's 16 equations (Sungatullina & Pajdla, MinBackProp, 2024).
"""

from __future__ import annotations

import torch

from mbp_teach.solvers.epipolar import epipolar_residuals, epipolar_rows, homogeneous
from mbp_teach.solvers.fundamental import hartley_normalisation, weighted_moment
from mbp_teach.solvers.rotation import cross_covariance, weighted_centroid

_TRIU = torch.triu_indices(3, 3)


def polynomial_residual(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """F(c, x) = sum_k c_k x^(d-k) (highest degree first), shape (1,): a root x(c) solves F = 0.

    The one-variable IFT: dx/dc_k = -F_c / F_x = -x^(d-k) / p'(x), finite at every simple root.
    """
    d = coeffs.shape[-1] - 1
    powers = x[..., :1] ** torch.arange(d, -1, -1, dtype=x.dtype, device=x.device)
    return (coeffs * powers).sum(-1, keepdim=True)


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


def eight_point_residual(z: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(..., 14) for z = (f (9), lam, v (3), mu): ((M_n - lam) f, (|f|^2-1)/2, (F0^T F0 - mu) v, (|v|^2-1)/2)."""
    f, lam, v, mu = z[..., :9], z[..., 9:10], z[..., 10:13], z[..., 13:14]
    n1, _ = hartley_normalisation(x1, w)
    n2, _ = hartley_normalisation(x2, w)
    Mn = weighted_moment(n1, n2, w)
    F0 = f.unflatten(-1, (3, 3))
    S = F0.transpose(-1, -2) @ F0
    half = lambda a: 0.5 * ((a * a).sum(-1, keepdim=True) - 1.0)  # noqa: E731
    return torch.cat([(Mn @ f.unsqueeze(-1)).squeeze(-1) - lam * f, half(f),
                      (S @ v.unsqueeze(-1)).squeeze(-1) - mu * v, half(v)], -1)


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


def essential_frame(E: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3, 3): N1 = U(e11 - e22)V^T, N2 = U(e12 + e21)V^T from the SVD of E (B, 3, 3).

    They span the normal directions of the essential manifold that det E does not cover; their
    span does not depend on which SVD is returned when s_1 = s_2.
    """
    U, _, Vh = torch.linalg.svd(E)
    u1, u2 = U[..., :, 0], U[..., :, 1]
    v1, v2 = Vh[..., 0, :], Vh[..., 1, :]
    outer = lambda a, b: a.unsqueeze(-1) * b.unsqueeze(-2)  # noqa: E731
    return torch.stack([outer(u1, v1) - outer(u2, v2), outer(u1, v2) + outer(u2, v1)], dim=-3)


def trace_constraint(E: torch.Tensor) -> torch.Tensor:
    """T(E) = 2 E E^T E - tr(E E^T) E, (..., 3, 3): zero exactly for essential matrices."""
    EEt = E @ E.transpose(-1, -2)
    tr = EEt.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    return 2.0 * EEt @ E - tr * E


def det3(E: torch.Tensor) -> torch.Tensor:
    """det E = e1 . (e2 x e3) for the rows e_k (a polynomial, so jacrev/vmap need no LU)."""
    return (E[..., 0, :] * torch.linalg.cross(E[..., 1, :], E[..., 2, :])).sum(-1)


def essential_residual(e: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """(..., 9): 5 x (x2h^T E x1h), (|E|^2 - 1)/2, det E, <N1, T(E)>, <N2, T(E)>; E = mat(e)."""
    E = e.unflatten(-1, (3, 3))
    T = trace_constraint(E)
    return torch.cat([epipolar_residuals(E, x1, x2), 0.5 * ((e * e).sum(-1, keepdim=True) - 1.0),
                      det3(E).unsqueeze(-1), (frame * T.unsqueeze(-3)).sum((-1, -2))], -1)


def essential_jacobian(e: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """dF/dE (..., 9, 9) of ``essential_residual`` in closed form (the five-point backward is hot).

    Rows: the epipolar rows kron(x2h, x1h); e; the cofactor matrix of E (d det E = <cof E, dE>);
    and for each frame matrix N the gradient of <N, T(E)>,
    2 N E^T E + 2 E N^T E + 2 E E^T N - 2 <N, E> E - tr(E E^T) N.
    ``torch.func`` gives the same matrix (tests check it); this is several times faster.
    """
    E = e.unflatten(-1, (3, 3))
    rows = E.unsqueeze(-3)[..., [1, 2, 0], :], E.unsqueeze(-3)[..., [2, 0, 1], :]
    cof = torch.linalg.cross(rows[0], rows[1]).squeeze(-3)
    EtE = torch.einsum("...ji,...jk->...ik", E, E)
    EEt = torch.einsum("...ij,...kj->...ik", E, E)
    N = frame  # (..., 2, 3, 3); einsum keeps the 3x3 products from broadcasting copies
    grad_T = (2.0 * (torch.einsum("...nij,...jk->...nik", N, EtE)
                     + torch.einsum("...ij,...nkj,...kl->...nil", E, N, E)
                     + torch.einsum("...ij,...njk->...nik", EEt, N))
              - 2.0 * torch.einsum("...nij,...ij->...n", N, E)[..., None, None] * E.unsqueeze(-3)
              - EEt.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None, None] * N)
    return torch.cat([epipolar_rows(x1, x2), e.unsqueeze(-2), cof.flatten(-2).unsqueeze(-2), grad_T.flatten(-2)], -2)


def essential_vjp_x(e: torch.Tensor, u: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, frame: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """u^T dF/d(x1, x2) of ``essential_residual`` in closed form: only the 5 epipolar rows depend on the
    points, and d(x2h^T E x1h)/dx1 = (E^T x2h)_12, d/dx2 = (E x1h)_12."""
    E = e.unflatten(-1, (3, 3))
    a, b = homogeneous(x1), homogeneous(x2)
    ue = u[..., :5].unsqueeze(-1)
    return ue * (b @ E)[..., :2], ue * (a @ E.transpose(-1, -2))[..., :2]


# Closed forms used by mbp_teach.gradients.implicit instead of torch.func (the five-point backward is hot).
essential_residual.jacobian = essential_jacobian
essential_residual.vjp_x = essential_vjp_x


RESIDUALS = {
    "kabsch": rotation_residual,
    "rigid_transform": rigid_residual,
    "eight_point": eight_point_residual,
    "five_point": essential_residual,
}
