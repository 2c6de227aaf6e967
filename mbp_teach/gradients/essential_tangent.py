"""The five-point IFT backward on the essential manifold: a 5 x 5 system per root, closed form.

Why 5 unknowns. An essential matrix of unit Frobenius norm is E = U S V^T with U, V orthogonal and
S = diag(1, 1, 0) / sqrt(2). Moving U and V by small rotations,

    E(xi) = U exp([w_u]x) S exp([w_v]x)^T V^T,        w_u, w_v in R^3,

changes E to first order by dE = U ([w_u]x S - S [w_v]x) V^T. Written out, [a]x S - S [b]x is

    [[ 0,          -(a3 - b3), -b2 ],
     [ a3 - b3,     0,          b1 ],
     [-a2,          a1,         0  ]]   (times 1/sqrt(2)),

so it sees only the 5 numbers xi = (a1, a2, b1, b2, a3 - b3): turning U and V together about their
third axes leaves E unchanged (R_z S R_z^T = S). The set of unit-norm essential matrices is a
manifold of dimension 5 (3 for the rotation, 2 for the direction of the translation), and
T_k = U D_k V^T with

    D_1 = e32,  D_2 = -e31,  D_3 = e23,  D_4 = -e13,  D_5 = e21 - e12     (e_ij: a single 1 at (i, j))

is a basis of its tangent space at E (up to the factor 1/sqrt(2), which cancels below). The other 4
directions of R^9 -- U S V^T (scale), U e33 V^T (det), U (e11 - e22) V^T and U (e12 + e21) V^T (the
trace constraints) -- are the normals, the directions ``mbp_teach.solvers.essential.essential_residual``
spends its 4 extra equations on.

Why the epipolar equations form a square, regular system. With p_i = V^T x1h_i, q_i = U^T x2h_i
(x1h = (x1, 1), x2h = (x2, 1)), the 5 residuals r_i(xi) = x2h_i^T E(xi) x1h_i have the Jacobian

    J_ik = dr_i/dxi_k = q_i^T D_k p_i = (q3 p2, -q3 p1, q2 p3, -q1 p3, q2 p1 - q1 p2)_i,     J: (5, 5).

5 equations, 5 unknowns: square. J = A B, where A (5 x 9) holds the epipolar rows kron(x2h, x1h) and
B (9 x 5) the tangent basis. J is singular exactly when a tangent direction keeps all 5 epipolar
equations to first order, i.e. when the 4-dim null space of A meets the 5-dim tangent space (in R^9 two
generic subspaces of dimensions 4 and 5 meet only in 0): two of the 10 solutions coincide. At a
simple root -- a generic problem -- J is invertible: regular.

The backward. For a loss L with G = dL/dE (3 x 3), the IFT on r(xi, x) = 0 gives
dxi/dx = -J^-1 dr/dx, hence, with g_k = <G, T_k> = (H32, -H31, H23, -H13, H21 - H12) for
H = U^T G V and lambda solving J^T lambda = g,

    dL/dx1_i = -lambda_i (E^T x2h_i)_{1,2},      dL/dx2_i = -lambda_i (E x1h_i)_{1,2}

(only the i-th residual contains point i; d(x2h^T E x1h)/dx1 is the first two entries of E^T x2h,
since x1h's third entry is the constant 1). The result depends only on the tangent space, not on
the basis chosen in it (B -> B M changes J to J M and g to M^T g), and equals the 9 x 9 IFT of
``essential_residual`` (the tests check both and autograd to 1e-10).

Cost per root: a few elementwise products, one 5 x 5 inverse, small matrix-vector products: no
autograd graph, no 9 x 9 Jacobian. U and V come in closed form from E (``essential_frame``), not from
an SVD.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from mbp_teach.gradients.implicit import _report, connected_zero, current_policy

__all__ = ["EssentialIFT", "essential_frame", "tangent_jacobian", "tangent_gradient", "tangent_residual",
           "tangent_system", "tangent_solve", "tangent_outputs", "tangent_vjp", "gather_roots", "scatter_roots",
           "attach"]

_S = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(2.0)
_SQRT2 = math.sqrt(2.0)


def essential_frame(E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(U, V), each (..., 3, 3) orthogonal, with E = U diag(1, 1, 0) V^T / sqrt(2), for unit-norm essential E
    (..., 3, 3). Closed form, no SVD (which would cost more than the whole backward); see ``_frame_packed``."""
    batch = E.shape[:-2]
    U, V = _frame_packed(E.reshape(-1, 3, 3).permute(1, 2, 0))
    return U.permute(2, 1, 0).reshape(*batch, 3, 3), V.permute(2, 1, 0).reshape(*batch, 3, 3)


def tangent_jacobian(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """J (..., 5, 5), J_ik = q_i^T D_k p_i, for p = V^T x1h, q = U^T x2h (..., 5, 3) (see the module)."""
    p1, p2, p3 = p.unbind(-1)
    q1, q2, q3 = q.unbind(-1)
    return torch.stack([q3 * p2, -q3 * p1, q2 * p3, -q1 * p3, q2 * p1 - q1 * p2], -1) * _S[0].item()


def tangent_gradient(G: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """g (..., 5), g_k = <G, U D_k V^T / sqrt(2)>: the loss gradient G = dL/dE (..., 3, 3) on the tangent basis."""
    H = U.transpose(-1, -2) @ G @ V
    return torch.stack([H[..., 2, 1], -H[..., 2, 0], H[..., 1, 2], -H[..., 0, 2], H[..., 1, 0] - H[..., 0, 1]],
                       -1) * _S[0].item()


def tangent_residual(xi: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, U: torch.Tensor, V: torch.Tensor
                     ) -> torch.Tensor:
    """The readable residual (..., 5): r_i(xi) = x2h_i^T E(xi) x1h_i with
    E(xi) = U exp([w_u]x) S exp([w_v]x)^T V^T, w_u = (xi1, xi2, xi5/2), w_v = (xi3, xi4, -xi5/2).

    xi (..., 5); x1, x2 (..., 5, 2); U, V (..., 3, 3) from ``essential_frame``. At xi = 0 it is the
    epipolar residual of E itself; its Jacobian there is ``tangent_jacobian`` (the tests check it).
    """
    zero = torch.zeros_like(xi[..., 0])
    a = torch.stack([xi[..., 0], xi[..., 1], 0.5 * xi[..., 4]], -1)
    b = torch.stack([xi[..., 2], xi[..., 3], -0.5 * xi[..., 4]], -1)

    def rot(w):
        K = torch.stack([torch.stack([zero, -w[..., 2], w[..., 1]], -1),
                         torch.stack([w[..., 2], zero, -w[..., 0]], -1),
                         torch.stack([-w[..., 1], w[..., 0], zero], -1)], -2)
        return torch.linalg.matrix_exp(K)

    S = torch.diag(_S.to(xi)).expand(*xi.shape[:-1], 3, 3)
    E = U @ rot(a) @ S @ rot(b).transpose(-1, -2) @ V.transpose(-1, -2)
    h = lambda x: torch.cat([x, torch.ones_like(x[..., :1])], -1)  # noqa: E731  homogeneous coordinates
    return torch.einsum("...ni,...ij,...nj->...n", h(x2), E, h(x1))  # x2h_i^T E x1h_i


# The tangent basis of the module docstring, D_k (up to 1/sqrt(2)), as the columns of a 9 x 5 matrix:
# <D_k, M> = (vec M) . _D[:, k] for vec row-major, so q^T D_k p = vec(q p^T) . _D[:, k].
_D = torch.zeros(9, 5, dtype=torch.float64)
for _k, (_row, _col, _sign) in enumerate([(2, 1, 1.0), (2, 0, -1.0), (1, 2, 1.0), (0, 2, -1.0), (1, 0, 1.0)]):
    _D[3 * _row + _col, _k] = _sign
_D[1, 4] = -1.0


def _pick(first: torch.Tensor, second: torch.Tensor, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return torch.where(first, x, torch.where(second, y, z))


def _frame_packed(Ep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(U, V) of ``essential_frame`` with the batch last: Ep (3, 3, R) is E (entry [i, j] over the batch);
    returns U, V (3, 3, R) with U[k] = u_k, V[k] = v_k (the k-th columns, as rows here).

    For unit-norm essential E, G = E^T E = (v1 v1^T + v2 v2^T) / 2, so I - 2G = v3 v3^T: v3 is the column of
    I - 2G with the largest diagonal over that diagonal's square root, v1 the column of G with the largest
    diagonal over sqrt(diagonal / 2); then v2 = v3 x v1, u_k = sqrt(2) E v_k (k = 1, 2) and u3 = u1 x u2.
    Elementwise arithmetic over the batch only: at these sizes argmax, small reductions and batched 3 x 3
    products cost more than the whole rest.
    """
    G = (Ep.unsqueeze(2) * Ep.unsqueeze(1)).sum(0)  # (3, 3, R): E^T E
    g0, g1, g2 = G[0, 0], G[1, 1], G[2, 2]
    low, low2 = (g0 <= g1) & (g0 <= g2), g1 <= g2  # smallest diagonal of G = largest of I - 2G
    high, high2 = (g0 >= g1) & (g0 >= g2), g1 >= g2
    P = _EYE.to(Ep).unsqueeze(-1) - 2.0 * G  # I - 2G, symmetric: row k = column k
    v3 = _pick(low, low2, P[0], P[1], P[2]) * torch.rsqrt(1.0 - 2.0 * _pick(low, low2, g0, g1, g2))
    v1 = _pick(high, high2, G[0], G[1], G[2]) * torch.rsqrt(0.5 * _pick(high, high2, g0, g1, g2))
    v2 = torch.linalg.cross(v3, v1, dim=0)
    V = torch.stack([v1, v2, v3])
    U12 = _SQRT2 * (Ep.unsqueeze(0) * V[:2].unsqueeze(1)).sum(2)  # (2, 3, R): sqrt(2) E v_k
    U = torch.cat([U12, torch.linalg.cross(U12[0], U12[1], dim=0).unsqueeze(0)])
    return U, V


_EYE = torch.eye(3, dtype=torch.float64)


def tangent_system(U: torch.Tensor, V: torch.Tensor, a: torch.Tensor, b: torch.Tensor, Gp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(J^T (5, 5, R), g (5, R)) for R roots with the batch last, from the frame U, V (3, 3, R) of
    ``_frame_packed``, the points a, b (2, 5, R) (x1, x2: coordinate, point, root) and G = dL/dE (3, 3, R).

    J and g are those of ``tangent_jacobian`` and ``tangent_gradient`` with the basis matrices D_2, D_4
    negated and the factor 1/sqrt(2) dropped: a column of J and the matching entry of g change together, so
    the solution lambda of J^T lambda = g does not change. At these sizes an elementwise op over the whole
    batch is cheaper than one batched 3 x 3 product, so all of it is elementwise.
    """
    proj = lambda W, x: torch.addcmul(torch.addcmul(W[:, 2:3], W[:, 0:1], x[0]), W[:, 1:2], x[1])  # noqa: E731
    p, q = proj(V, a), proj(U, b)  # (3, 5, R): p_k = v_k . x1h, q_k = u_k . x2h
    Jt = torch.stack([q[2] * p[1], q[2] * p[0], q[1] * p[2], q[0] * p[2],
                      torch.addcmul(q[1] * p[0], q[0], p[1], value=-1.0)])  # (k, i, R): J^T
    GV = (Gp.unsqueeze(0) * V[:2].unsqueeze(1)).sum(2)  # (l, j, R): G v_l for l = 1, 2
    Gv3 = (Gp * V[2]).sum(1)  # (j, R)
    dot = lambda x, y: (x * y).sum(0)  # noqa: E731
    g = torch.stack([dot(U[2], GV[1]), dot(U[2], GV[0]), dot(U[1], Gv3), dot(U[0], Gv3),
                     dot(U[1], GV[0]) - dot(U[0], GV[1])])  # (k, R): u_m^T G v_l
    return Jt, g


def tangent_solve(Jt: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(-lambda (5, R), cond (R,)): lambda solves J^T lambda = g per root, from J^T (5, 5, R) and g (5, R).

    One batched LAPACK inverse of the R matrices J^T (R x 5 x 5), then elementwise products. ``cond`` is the
    1-norm condition number ||J||_1 ||J^-1||_1, inf where J is singular; the caller flags roots above its limit.
    """
    W, info = torch.linalg.inv_ex(Jt.permute(2, 0, 1))  # (R, 5, 5): J^-T
    Wt = W.permute(1, 2, 0).contiguous()  # (i, k, R)
    lam = -(Wt * g).sum(1)  # (i, R): -lambda
    norm1 = lambda A: A.abs().sum(1).amax(0)  # noqa: E731  ||J||_1 from J^T, ||J^-1||_1 = ||J^-T||_inf
    cond = torch.where(info == 0, norm1(Jt) * norm1(Wt), torch.full_like(lam[0], float("inf")))
    return lam, cond


def tangent_outputs(Ep: torch.Tensor, a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dx1, dL/dx2 (2, 5, R)) = (-lambda_i (E^T x2h_i)_{1,2}, -lambda_i (E x1h_i)_{1,2}), given -lambda (5, R)."""
    Etb = torch.addcmul(torch.addcmul(Ep[2, :2, None], Ep[0, :2, None], b[0]), Ep[1, :2, None], b[1])  # (2, 5, R)
    Ea = torch.addcmul(torch.addcmul(Ep[:2, 2, None], Ep[:2, 0, None], a[0]), Ep[:2, 1, None], a[1])
    return lam * Etb, lam * Ea


def tangent_vjp(Ep: torch.Tensor, a: torch.Tensor, b: torch.Tensor, Gp: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dL/dx1, dL/dx2 (2, 5, R), cond (R,)) for R roots, everything with the batch last (the fast axis):
    Ep, Gp (3, 3, R) are E and G = dL/dE (entry [i, j] over the roots), a, b (2, 5, R) the points x1, x2
    (coordinate, point, root). Four stages: the frame, the system, its solve, the outputs (each timed by
    ``python -m mbp_teach.bench stages``).
    """
    U, V = _frame_packed(Ep)
    Jt, g = tangent_system(U, V, a, b, Gp)
    lam, cond = tangent_solve(Jt, g)
    return (*tangent_outputs(Ep, a, b, lam), cond)


def gather_roots(E: torch.Tensor, G: torch.Tensor, valid: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Ep, a, b, Gp, item): the valid roots of E, G (B, n, 3, 3) and their problems' points x1, x2 (B, 5, 2)
    with the roots last, as ``tangent_vjp`` takes them, and item (R,), each root's problem. Whole rows are
    gathered (contiguous, cheap), then one transpose puts the roots last."""
    n = valid.shape[-1]
    idx = torch.nonzero(valid.reshape(-1)).squeeze(-1)
    item, R = idx // n, idx.numel()
    # one strided copy each into rows (E and G: 18 numbers per root slot; x1 and x2: 5 x 4 per problem)
    EG = torch.cat([E.flatten(-2), G.flatten(-2).to(E.dtype)], -1).view(-1, 18).index_select(0, idx).T.contiguous()
    X = torch.cat([x1, x2], -1).index_select(0, item).permute(2, 1, 0).contiguous()  # (4, 5, R)
    pts = X.view(2, 2, 5, R)  # (x1 or x2, coordinate, point, root)
    return EG[:9].view(3, 3, R), pts[0], pts[1], EG[9:].view(3, 3, R), item


def scatter_roots(gx1: torch.Tensor, gx2: torch.Tensor, item: torch.Tensor, batch: int) -> torch.Tensor:
    """(batch, 2, 5, 2): the roots' gradients (2, 5, R) towards x1 and x2 summed into their problems."""
    gx = torch.stack([gx1, gx2]).permute(3, 0, 2, 1)  # (R, x1 or x2, point, coordinate)
    return gx.new_zeros(batch, 2, 5, 2).index_add_(0, item, gx)


class EssentialIFT(torch.autograd.Function):
    """E (B, n, 3, 3) -> the same values, whose backward is the tangent-space IFT towards x1, x2 (B, 5, 2).

    Only the entries with ``valid`` True are differentiated (the others are zero and stay so).
    One node in the autograd graph; the backward is ``tangent_vjp`` on every valid root at once and
    a scatter-add of the roots' gradients into their problems.
    """

    @staticmethod
    def forward(ctx, E: torch.Tensor, valid: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, pol, name: str):
        ctx.pol, ctx.name = pol, name
        ctx.save_for_backward(E, valid, x1, x2)
        return E.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G: torch.Tensor):
        E, valid, x1, x2 = ctx.saved_tensors
        Ep, a, b, Gp, item = gather_roots(E, G, valid, x1, x2)
        gx1, gx2, cond = tangent_vjp(Ep, a, b, Gp)
        pol = ctx.pol
        flags = ~(cond <= pol.limit(E.dtype))
        _report(flags, cond, pol, ctx.name, E.dtype)
        if bool(flags.any()):
            gx1 = torch.where(flags, torch.zeros_like(gx1), gx1)
            gx2 = torch.where(flags, torch.zeros_like(gx2), gx2)
        out = scatter_roots(gx1, gx2, item, valid.shape[0]).to(x1.dtype)
        out1 = out[:, 0] if ctx.needs_input_grad[2] else None
        out2 = out[:, 1] if ctx.needs_input_grad[3] else None
        return None, None, out1, out2, None, None


def attach(forward: Callable[..., tuple[torch.Tensor, torch.Tensor]], x1: torch.Tensor, x2: torch.Tensor,
           name: str = "essential (ift)") -> tuple[torch.Tensor, torch.Tensor]:
    """(E, valid) of ``forward(x1, x2)`` with the tangent-space IFT attached: the backward of a solver whose
    output is up to n essential matrices E (..., n, 3, 3) with a mask valid (..., n) through x1, x2 (..., 5, 2).

    x1, x2 float64; E is the forward's value exactly. ``name`` labels the layer's warnings and log.
    """
    with torch.no_grad():
        E, valid = forward(x1, x2)
    if not bool(valid.any()):  # nothing to differentiate: a zero gradient, still connected to the graph
        return connected_zero(E, x1, x2), valid
    batch = x1.shape[:-2]
    B = batch.numel()
    flat = lambda t: t.reshape((B,) + t.shape[len(batch):])  # noqa: E731
    out = EssentialIFT.apply(flat(E), flat(valid), flat(x1), flat(x2), current_policy(), name)
    return out.reshape(E.shape), valid
