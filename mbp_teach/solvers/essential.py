"""Nister's 5-point solver for the essential matrix, one public function per stage.

Five calibrated correspondences give five equations x2h^T E x1h = 0, linear in E's nine
entries, and an essential matrix must also satisfy

    det E = 0   and   2 E E^T E - tr(E E^T) E = 0      (10 cubic equations, 9 independent).

The stages (following Nister 2004 and the Groebner-basis view of Stewenius et al. 2006):

1. ``null_space_basis``: E lies in the 4-dim null space of the 5x9 epipolar matrix, so
   E = x E1 + y E2 + z E3 + E4 for unknown (x, y, z).
2. ``constraint_matrix``: substituting gives 10 cubic polynomials in (x, y, z); their
   coefficients over the 20 monomials ``MONOMIALS`` (cubic ones first) form a 10x20 matrix C.
3. ``eliminate``: Gauss-Jordan, [I | G] = C1^-1 [C1 | C2]: each cubic monomial is now a
   combination of the 10 lower monomials b = (x^2, xy, xz, y^2, yz, z^2, x, y, z, 1).
4. ``action_matrix``: multiplying b by x stays in span(b) modulo the equations; the 10x10
   matrix A with A b = x b at every solution is the multivariate companion matrix.
5. ``roots_from_action``: the eigenvectors of A are b evaluated at the 10 (complex) solutions:
   x is the eigenvalue, y = b_8 / b_10, z = b_9 / b_10. Real ones are the candidates.
6. ``compose_essential``: E = x E1 + y E2 + z E3 + E4, scaled to unit Frobenius norm.

Everything is batched over leading dimensions; there is no Python loop over problems.

``five_point`` runs these stages with one speed-up (issue 18): when no gradient is wanted, stage 5 there
is ``roots_by_back_substitution``, eigenvalues only plus a 3x3 back-substitution for (y, z) instead of
the eigenvectors; it finds the same solutions to round-off (tests/solvers/test_solvers_essential_fast.py).
Stages 2 and the validity check compute with the batch as the last dimension (``_batch_last``).

What a solution satisfies, the 9 x 9 square residual ``essential_residual`` (used by ``refine_roots`` and
by the IFT), and the solver's declaration ``FIVE_POINT`` (``mbp_teach.solvers.spec.SolverSpec``: its
declarative node, test problems, loss, benchmark inputs, and its IFT backward on the tangent space,
``mbp_teach.gradients.essential_tangent``) are in this module too.
"""

from __future__ import annotations

import functools
import itertools

import torch

from mbp_teach import data
from mbp_teach.gradients import essential_tangent
from mbp_teach.gradients.backward import Unknowns, check_mode, dispatch, flat
from mbp_teach.gradients.ddn import DeclarativeNode
from mbp_teach.gradients.implicit import ClosedForm, straight_through
from mbp_teach.solvers import _checks
from mbp_teach.solvers.epipolar import det3, epipolar_residuals, epipolar_rows, homogeneous
from mbp_teach.solvers.spec import SolverSpec, fixed_weights, register

N_SOLUTIONS = 10


def _monomials(degree: int) -> list[tuple[int, int, int]]:
    """Exponents (a, b, c) of x^a y^b z^c of exactly ``degree``, graded reverse lexicographic (x > y > z)."""
    return sorted(((a, b, c) for a, b, c in itertools.product(range(degree + 1), repeat=3) if a + b + c == degree),
                  reverse=True)


LINEAR = _monomials(1) + _monomials(0)  # x, y, z, 1: the coefficients of E1, E2, E3, E4
QUADRATIC = _monomials(2) + LINEAR  # the 10 monomials of degree <= 2
CUBIC = _monomials(3) + QUADRATIC  # the 20 monomials of degree <= 3; the first 10 are cubic


def _name(e: tuple[int, int, int]) -> str:
    parts = [v + (f"^{k}" if k > 1 else "") for v, k in zip("xyz", e, strict=True) if k]
    return "".join(parts) or "1"


MONOMIALS: list[str] = [_name(e) for e in CUBIC]
BASIS: list[str] = MONOMIALS[10:]  # x^2, xy, xz, y^2, yz, z^2, x, y, z, 1


def _product_table(left: list, right: list, out: list) -> torch.Tensor:
    """T[a, b, m] = 1 when monomial left[a] * right[b] = out[m]: polynomial products as einsum."""
    T = torch.zeros(len(left), len(right), len(out), dtype=torch.float64)
    index = {e: m for m, e in enumerate(out)}
    for a, ea in enumerate(left):
        for b, eb in enumerate(right):
            T[a, b, index[tuple(i + j for i, j in zip(ea, eb, strict=True))]] = 1.0
    return T


_LIN_LIN = _product_table(LINEAR, LINEAR, QUADRATIC)  # (4, 4, 10)
_QUAD_LIN = _product_table(QUADRATIC, LINEAR, CUBIC)  # (10, 4, 20)
# x * b for each basis monomial b, as an index into CUBIC: rows 0-5 land on cubic monomials
# (reduced by G), rows 6-9 (x*x, x*y, x*z, x*1) land back on basis monomials.
_X_TIMES_BASIS = [CUBIC.index((e[0] + 1, e[1], e[2])) for e in QUADRATIC]


NULL_SPACES = ("qr", "svd", "gram_svd")


def check_null_space(method: str) -> None:
    if method not in NULL_SPACES:
        raise ValueError(f"null_space: must be one of {', '.join(repr(m) for m in NULL_SPACES)}, got {method!r}")


def null_space_basis(x1: torch.Tensor, x2: torch.Tensor, method: str = "qr") -> torch.Tensor:
    """Four 3x3 matrices (..., 4, 3, 3) spanning {E : x2h_i^T E x1h_i = 0, i = 1..5}.

    ``method`` picks the basis and, with it, what autograd differentiates:

    - ``"qr"`` (default): the orthonormal complement from a complete QR of the 9x5 matrix A^T,
      re-attached to the graph by the projector P = I - A^T (A A^T)^-1 A: N = P N0 with N0 held
      constant equals N0 in value, but its gradient is that of a smooth basis (when no gradient is
      wanted, N0 itself is returned: the projector would change it only by round-off);
    - ``"svd"``: the last 4 right singular vectors of the 5x9 A (``torch.linalg.svd``,
      full_matrices=True), autograd straight through;
    - ``"gram_svd"``: the last 4 right singular vectors of the 9x9 Gram matrix A^T A, autograd
      straight through: the form of the MinBackProp paper's autograd baseline (nabla-RANSAC, built on
      kornia's 5-point solver). A^T A has 4 singular values at round-off level, and the SVD backward
      divides by s_i^2 - s_j^2 (PyTorch issue #49886).

    The three bases span the same space, so the essential matrices built from them are the same
    set; only the gradient differs. With torch 2.13, ``"svd"`` gives an identically zero gradient:
    with full_matrices=True, torch's SVD backward ignores the gradient reaching the extra rows
    Vh[5:], which are exactly the null space (the tests check this).
    """
    check_null_space(method)
    A = epipolar_rows(x1, x2)  # (..., 5, 9)
    At = A.transpose(-1, -2)
    if method == "svd":
        return torch.linalg.svd(A, full_matrices=True).Vh[..., 5:, :].unflatten(-1, (3, 3))
    if method == "gram_svd":
        return torch.linalg.svd(At @ A).Vh[..., 5:, :].unflatten(-1, (3, 3))
    with torch.no_grad():
        N0 = torch.linalg.qr(At.detach(), mode="complete").Q[..., 5:]  # (..., 9, 4)
    if not (torch.is_grad_enabled() and A.requires_grad):  # no gradient wanted: P N0 = N0 to round-off
        return N0.transpose(-1, -2).unflatten(-1, (3, 3))
    N = N0 - At @ torch.linalg.solve(A @ At, A @ N0)
    return N.transpose(-1, -2).unflatten(-1, (3, 3))


def _batch_last(basis: torch.Tensor) -> torch.Tensor:
    """(..., 4, 3, 3) -> (3, 3, 4, B): entry (i, j) of E as a linear polynomial, the flattened batch last.

    Small per-problem products are then elementwise operations on contiguous length-B vectors and
    contractions with the fixed monomial tables are single matrix products: far cheaper than
    thousands of tiny batched matrix products.
    """
    return basis.reshape(-1, 4, 3, 3).permute(2, 3, 1, 0).contiguous()


def constraint_matrix(basis: torch.Tensor) -> torch.Tensor:
    """C (..., 10, 20): row 0 is det E, rows 1-9 are 2 E E^T E - tr(E E^T) E (row-major),
    as coefficients over ``MONOMIALS`` for E = x E1 + y E2 + z E3 + E4.

    Polynomial products as tensor products: entry E_ij is a linear polynomial with coefficients
    (x, y, z, 1) -> (4,); the product of two linear polynomials has the 4 x 4 coefficients
    p_a q_b, which the table ``_LIN_LIN`` (4, 4, 10) collects onto the 10 quadratic monomials
    (and ``_QUAD_LIN`` (10, 4, 20) quadratic x linear onto the 20 cubic ones). The computation runs
    with the batch as the last (contiguous) dimension, see ``_batch_last``.
    """
    shape = basis.shape[:-3]
    ll = _LIN_LIN.to(basis).reshape(16, 10).T  # (10, 16)
    ql = _QUAD_LIN.to(basis).reshape(40, 20).T  # (20, 40)
    E = _batch_last(basis)  # (3, 3, 4, B)
    B = E.shape[-1]
    # (E E^T)_ij = sum_k E_ik E_jk: 4 x 4 coefficient products, summed over k, onto quadratic monomials
    # (sums over a leading dimension are written out: a broadcast product then .sum() is several times slower)
    zero = E.new_zeros(())  # the start of the sums below (as Python's 0, but typed a tensor)
    EEt = ll @ sum((E[:, None, k, :, None] * E[None, :, k, None, :] for k in range(3)), zero).reshape(3, 3, 16, B)
    tr = EEt[0, 0] + EEt[1, 1] + EEt[2, 2]  # (10, B)
    # 2 E E^T E - tr(E E^T) E, with (E E^T E)_ij = sum_k (E E^T)_ik E_kj: quadratic x linear, (3, 3, 10, 4, B)
    # (accumulated in place, with the sign flipped: tr(E E^T) E - 2 E E^T E; the table below undoes it)
    neg_trace = tr[:, None] * E[:, :, None]
    for k in range(3):
        neg_trace.addcmul_(EEt[:, None, k, :, None], E[None, k, :, None, :], value=-2.0)
    # det E by the first row's cofactors: cof_j = E[1, j+1] E[2, j+2] - E[1, j+2] E[2, j+1]
    j1, j2 = [1, 2, 0], [2, 0, 1]
    r1, r2 = E[1], E[2]  # (3, 4, B)
    cof = ll @ (r1[j1, :, None] * r2[j2, None, :] - r1[j2, :, None] * r2[j1, None, :]).reshape(3, 16, B)
    det = sum((cof[j, :, None] * E[0, j, None] for j in range(3)), zero)  # (10, 4, B)
    C = torch.cat([(ql @ det.reshape(40, B)).unsqueeze(0), -ql @ neg_trace.reshape(9, 40, B)])  # (10, 20, B)
    return C.permute(2, 0, 1).reshape(*shape, 10, 20)


def eliminate(C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss-Jordan on the cubic block: (G (..., 10, 10), ok (...,)) with C1^-1 C = [I | G].

    ``ok`` is False where C1 is singular (a degenerate problem); G is then set to zero so the
    later stages stay finite, and those problems get no valid solution.
    """
    G, info = torch.linalg.solve_ex(C[..., :10], C[..., 10:])
    ok = (info == 0) & torch.isfinite(G).all(-1).all(-1)
    return torch.where(ok[..., None, None], G, torch.zeros_like(G)), ok


_ACTION_ROWS = [m for m in _X_TIMES_BASIS if m < 10]  # rows of G giving x * b_k for k < 6
_ACTION_UNIT = torch.zeros(N_SOLUTIONS - len(_ACTION_ROWS), 10, dtype=torch.float64)
for _k, _m in enumerate(m for m in _X_TIMES_BASIS if m >= 10):
    _ACTION_UNIT[_k, _m - 10] = 1.0


def action_matrix(G: torch.Tensor) -> torch.Tensor:
    """A (..., 10, 10) with A b(x, y, z) = x b(x, y, z) at every solution, b = ``BASIS``.

    Row k expresses x * b_k: for k < 6 it is a cubic monomial, equal to -G[row] by the
    eliminated equations (``_ACTION_ROWS``); for k >= 6 it is a basis monomial again (a unit row,
    ``_ACTION_UNIT``: x*x = x^2, x*y = xy, x*z = xz, x*1 = x).
    """
    unit = _ACTION_UNIT.to(G).expand(*G.shape[:-2], *_ACTION_UNIT.shape)
    return torch.cat([-G[..., _ACTION_ROWS, :], unit], dim=-2)


def roots_from_action(A: torch.Tensor, ok: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigen-decompose A: ((x, y, z) complex (..., 10, 3), valid (..., 10) bool).

    x is the eigenvalue; y and z are ratios of the eigenvector's entries (b_8/b_10, b_9/b_10),
    invariant to the eigenvector's arbitrary complex scale. ``valid`` marks real solutions:
    |Im x| <= 10 sqrt(eps) (1 + |x|), b_10 not negligible, and ``ok`` (from ``eliminate``).
    """
    lam, V = torch.linalg.eig(A)
    v = V.transpose(-1, -2)  # (..., 10 solutions, 10 entries)
    eps = torch.finfo(A.dtype).eps
    last = v[..., 9]
    den_ok = last.abs() > 1e3 * eps * v.abs().amax(-1)
    den = torch.where(den_ok, last, torch.ones_like(last))
    xyz = torch.stack([lam, v[..., 7] / den, v[..., 8] / den], dim=-1)
    valid = den_ok & (lam.imag.abs() <= 10 * eps**0.5 * (1 + lam.abs())) & torch.isfinite(xyz).all(-1)
    if ok is not None:
        valid = valid & ok.unsqueeze(-1)
    return xyz, valid


def roots_by_back_substitution(A: torch.Tensor, G: torch.Tensor, ok: torch.Tensor | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 5, faster: eigenvalues of A only, then (y, z) of each root from a 3x3 system (Nister's
    hidden-variable step). Same outputs as ``roots_from_action`` (``xyz`` (..., 10, 3), ``valid``).

    At a root x, rows 0-5 of A b = x b read M(x) w = 0 for w = (y^2, yz, z^2, y, z, 1), with
    g = G[``_ACTION_ROWS``] and M_k(x) = [g_k3, g_k4, g_k5, g_k1 x + g_k7, g_k2 x + g_k8,
    g_k0 x^2 + g_k6 x + g_k9] plus x b_k (x^3, x^2 y, x^2 z, x y^2, x yz, x z^2) on its monomial.
    Rows 0-2 hold (y^2, yz, z^2) with the constant 3x3 block P = g[0:3, 3:6]; eliminating them,

        B(x) (y, z, 1)^T = 0,   B(x) = T(x) - (g[3:6, 3:6] + x I) P^-1 Q(x),

    where Q and T are rows 0-2 and 3-5 of M's last three columns (degree <= 3 in x). (y, z, 1) is
    the cross product of two rows of B(x) (the pair with the largest product). LAPACK then computes
    eigenvalues only (no eigenvectors: about 40 % less time at 10 x 10). Problems whose P is singular
    (not seen on generic data) are solved by ``roots_from_action`` instead. Apart from the two LAPACK
    calls, everything runs with the batch last (contiguous). (An explicit adj(P) / det P instead of the
    LU solve was tried: 100x larger errors in the 0.1 % worst roots, so not used.)
    """
    shape = A.shape[:-2]
    lam = torch.linalg.eigvals(A)  # (..., 10)
    g = G[..., :6, :].reshape(-1, 6, 10)  # G[_ACTION_ROWS]: x^3, x^2y, x^2z, xy^2, xyz, xz^2
    n = g.shape[0]
    # coefficients of the last three columns of M, by power of x: (4 powers, 6 rows, 3 columns, n)
    gl = g.permute(1, 2, 0).contiguous()  # (6, 10, n): the batch last
    zero = torch.zeros_like(gl[:, 0])
    c = torch.stack([torch.stack([gl[:, 7], gl[:, 8], gl[:, 9]], 1),
                     torch.stack([gl[:, 1], gl[:, 2], gl[:, 6]], 1),
                     torch.stack([zero, zero, gl[:, 0]], 1),
                     torch.zeros_like(gl[:, :3])])  # (4, 6, 3, n)
    c[2, 1, 0] += 1.0  # x * (x y) = x^2 y
    c[2, 2, 1] += 1.0  # x * (x z) = x^2 z
    c[3, 0, 2] += 1.0  # x * x^2 = x^3
    # K_p = P^-1 Q_p for the four powers: one 3 x 12 solve per problem (LU with partial pivoting)
    Q = c[:, 0:3].permute(3, 1, 0, 2).reshape(n, 3, 12)  # (n, 3 rows, 4 powers x 3 columns)
    K, info = torch.linalg.solve_ex(g[:, 0:3, 3:6], Q)
    K = K.reshape(n, 3, 4, 3).permute(2, 1, 3, 0).contiguous()  # (4, 3, 3, n)
    solved = (info == 0).reshape(shape)
    # coefficients of B(x) = T(x) - S P^-1 Q(x) - x P^-1 Q(x), S = g[3:6, 3:6]: (5 powers, 3, 3, n)
    S = gl[3:6, 3:6]  # (3, 3, n)
    SK = sum(S[None, :, k, None] * K[:, None, k] for k in range(3))  # (4, 3, 3, n); sums over a leading
    Bc = torch.zeros(5, 3, 3, n, dtype=K.dtype, device=K.device)    # dimension are written out (faster)
    Bc[:3] += c[:3, 3:6]
    Bc[:4] -= SK
    Bc[1:] -= K
    x = lam.real.reshape(n, 10).T  # (10, n)
    Bx = Bc[4, :, :, None] * x + Bc[3, :, :, None]
    for q in (2, 1, 0):  # Horner at the 10 roots: (3, 3, 10, n)
        Bx = torch.addcmul(Bc[q, :, :, None], Bx, x)
    pairs = [torch.linalg.cross(Bx[0], Bx[1], dim=0), torch.linalg.cross(Bx[0], Bx[2], dim=0),
             torch.linalg.cross(Bx[1], Bx[2], dim=0)]  # each (3, 10, n)
    size = [u[0] * u[0] + u[1] * u[1] + u[2] * u[2] for u in pairs]
    v = torch.where(((size[0] >= size[1]) & (size[0] >= size[2])).unsqueeze(0), pairs[0],
                    torch.where((size[1] >= size[2]).unsqueeze(0), pairs[1], pairs[2]))  # (3, 10, n)
    eps = torch.finfo(A.dtype).eps
    den_ok = v[2].abs() > 1e3 * eps * torch.maximum(torch.maximum(v[0].abs(), v[1].abs()), v[2].abs())
    den = torch.where(den_ok, v[2], torch.ones_like(v[2]))
    yz = (v[:2] / den).permute(2, 1, 0).reshape(*shape, 10, 2)
    xyz = torch.cat([lam.unsqueeze(-1), yz.to(lam.dtype)], dim=-1)
    den_ok = den_ok.T.reshape(*shape, 10)
    valid = den_ok & (lam.imag.abs() <= 10 * eps**0.5 * (1 + lam.abs())) & torch.isfinite(xyz).all(-1)
    if ok is not None:
        valid = valid & ok.unsqueeze(-1)
    if not bool(solved.all()):  # a (nearly) singular P: those problems by the eigenvectors
        redo = ~solved
        xyz_e, valid_e = roots_from_action(A[redo], None if ok is None else ok[redo])
        xyz, valid = xyz.clone(), valid.clone()
        xyz[redo], valid[redo] = xyz_e, valid_e
    return xyz, valid


def compose_essential(basis: torch.Tensor, xyz: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """E (..., 10, 3, 3) = x E1 + y E2 + z E3 + E4 from the real parts, unit Frobenius norm;
    zero matrices where ``valid`` is False (so every entry is finite)."""
    coef = torch.where(valid.unsqueeze(-1), xyz.real, torch.zeros_like(xyz.real))
    coef = torch.cat([coef, torch.ones_like(coef[..., :1])], dim=-1)  # (..., 10, 4)
    E = torch.einsum("...sk,...kij->...sij", coef, basis)
    E = E / torch.linalg.matrix_norm(E)[..., None, None]
    return torch.where(valid[..., None, None], E, torch.zeros_like(E))


def essential_constraints(E: torch.Tensor) -> torch.Tensor:
    """(..., 10): det E and the nine entries of 2 E E^T E - tr(E E^T) E (row-major); all zero for an
    essential matrix. Computed elementwise with the batch last (no tiny batched matrix products)."""
    shape = E.shape[:-2]
    e = E.reshape(-1, 3, 3).permute(1, 2, 0).contiguous()  # (3, 3, B)
    EEt = sum((e[:, None, k] * e[None, :, k] for k in range(3)), e.new_zeros(()))  # (3, 3, B)
    tr = EEt[0, 0] + EEt[1, 1] + EEt[2, 2]
    trace = -(tr * e)  # 2 E E^T E - tr(E E^T) E, (3, 3, B)
    for k in range(3):
        trace.addcmul_(EEt[:, k, None], e[k, None], value=2.0)
    det = (e[0] * torch.linalg.cross(e[1], e[2], dim=0)).sum(0)
    return torch.cat([det[None], trace.reshape(9, -1)]).T.reshape(*shape, 10)


VALID_TOL = 1e-3
"""Default tolerance of ``valid`` without ``refine``: max |essential_constraints(E)| of the unit-norm E."""
REFINED_TOL = 1e-9
"""Default tolerance of ``valid`` with ``refine=True`` (a polished simple root reaches about 1e-15)."""
REFINE_STEPS = 5


# -- what a solution satisfies: a square residual (IFT), also used by ``refine_roots`` ------------------------
#
# Per real solution, 9 equations for the 9 entries of E: 5 epipolar equations, (|E|^2 - 1)/2 = 0, det E = 0,
# and two of the nine trace equations T(E) = 2 E E^T E - tr(E E^T) E = 0. The essential matrices of unit norm
# form a 5-dimensional manifold, so exactly 3 of the 10 cubic constraints are independent near a solution,
# and which ones depends on E. In the SVD frame E = U diag(s, s, 0) V^T, dT maps the normal directions
# U(e11 - e22)V^T and U(e12 + e21)V^T to 4 s^2 times themselves, and det E covers U e33 V^T; so we use
# <N1, T(E)> and <N2, T(E)> with N1, N2 those two frame matrices (``essential_frame``, held constant: the IFT
# needs F only to first order at the solution, and near it {det = 0, <N_k, T> = 0} is the essential manifold
# itself). dF/dE is then invertible iff the 5 epipolar equations are independent on the tangent space: the
# solution is a simple root. This is the 9 x 9 reduction of MinBackProp's 16 equations (Sungatullina &
# Pajdla, MinBackProp, 2024). ``mbp_teach.gradients.essential_tangent`` solves the same IFT in 5 x 5 form.

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


# Per-problem reason codes of ``five_point`` (``Solutions.reason``); 0 means the problem was solved.
OK, RANK, ROTATION, NO_SOLUTION = 0, 1, 2, 3
REASONS = {
    OK: "solved",
    RANK: "the 5x9 epipolar matrix has rank < 5 (repeated or degenerate points), so E is not determined",
    ROTATION: "x2 is a rotation of x1 (no translation, e.g. x2 = x1), so E is not determined",
    NO_SOLUTION: "no real root satisfies the essential constraints to the tolerance",
}


class Solutions(tuple):
    """``five_point``'s result: unpacks as the pair (E, valid); ``reason`` (...,) int8 says per problem
    why it has no valid solution (a key of ``REASONS``; 0 = solved), ``why()`` in words."""

    reason: torch.Tensor

    def __new__(cls, E: torch.Tensor, valid: torch.Tensor, reason: torch.Tensor):
        self = super().__new__(cls, (E, valid))
        self.reason = reason
        return self

    @property
    def E(self) -> torch.Tensor:
        return self[0]

    @property
    def valid(self) -> torch.Tensor:
        return self[1]

    def why(self) -> list[str]:
        """The reason of every problem, in words, flattened over the batch."""
        return [REASONS[int(r)] for r in self.reason.flatten()]


def refine_roots(E: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, valid: torch.Tensor,
                 steps: int | None = None) -> torch.Tensor:
    """Polish each valid root E (..., 10, 3, 3) by Newton (Gauss-Newton) steps on the square residual F(E) = 0
    of ``essential_residual`` (5 epipolar equations, |E| = 1, det E = 0, 2 trace equations):

        e <- e - J^-1 F(e),   J = dF/de (9 x 9) at the current e, held constant (no gradient through J).

    A simple root converges quadratically; at a small baseline the eigenvalue stage loses digits that
    two steps recover. x1, x2: (..., 5, 2). Invalid entries stay zero. With J held constant, the gradient
    of one step with respect to the points is -J^-1 dF/dx: the implicit-function gradient.
    """
    stand_in = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=E.dtype) / 2**0.5
    e = torch.where(valid[..., None, None], E, stand_in).flatten(-2)  # (..., 10, 9)
    a, b = (x.unsqueeze(-3).expand(*E.shape[:-2], 5, 2) for x in (x1, x2))  # the points of every root
    for _ in range(REFINE_STEPS if steps is None else steps):
        with torch.no_grad():
            frame = essential_frame(e.detach().unflatten(-1, (3, 3)))
            J = essential_jacobian(e.detach(), a, b, frame)
            LU, piv, info = torch.linalg.lu_factor_ex(J)
        F = essential_residual(e, a, b, frame)
        step = torch.linalg.lu_solve(LU, piv, F.unsqueeze(-1)).squeeze(-1)
        ok = (info == 0) & torch.isfinite(step.detach()).all(-1)
        e = torch.where(ok.unsqueeze(-1), e - torch.where(ok.unsqueeze(-1), step, torch.zeros_like(step)), e)
    E = e.unflatten(-1, (3, 3))
    return torch.where(valid[..., None, None], E, torch.zeros_like(E))


def _five_point_forward(x1: torch.Tensor, x2: torch.Tensor, null_space: str = "qr", refine: bool = False,
                        tol: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(E (..., 10, 3, 3), valid (..., 10)) from validated (..., 5, 2) calibrated points.

    Computed in float64 whatever the input dtype (E is returned in the input's dtype; gradients
    flow through the casts). ``valid``: a real root whose unit-norm E satisfies
    max |essential_constraints(E)| <= tol (``VALID_TOL``, or ``REFINED_TOL`` with ``refine``).
    Stage 5 is ``roots_by_back_substitution`` when no gradient is wanted, ``roots_from_action`` when
    autograd will differentiate the forward (the same solutions to round-off; the order of the slots can
    differ). Plain autograd-differentiable (through solve, linalg.eig and ``null_space_basis``); a loss
    must use only valid entries and be invariant to the sign of E.
    """
    dtype = x1.dtype
    x1, x2 = x1.to(torch.float64), x2.to(torch.float64)
    tol = (REFINED_TOL if refine else VALID_TOL) if tol is None else tol
    basis = null_space_basis(x1, x2, null_space)
    G, ok = eliminate(constraint_matrix(basis))
    A = action_matrix(G)
    if torch.is_grad_enabled() and (x1.requires_grad or x2.requires_grad):
        # autograd differentiates the forward: the eigenvector route is the cheaper graph (eigvals' backward
        # computes the eigenvectors anyway)
        xyz, valid = roots_from_action(A, ok)
    else:
        xyz, valid = roots_by_back_substitution(A, G, ok)
    E = compose_essential(basis, xyz, valid)
    if refine:
        E = refine_roots(E, x1, x2, valid)
    with torch.no_grad():
        valid = valid & (essential_constraints(E.detach()).abs().amax(-1) <= tol)
        if refine:
            frame = essential_frame(E.detach())
            a, b = (x.unsqueeze(-3).expand(*E.shape[:-2], 5, 2) for x in (x1, x2))
            valid = valid & (essential_residual(E.detach().flatten(-2), a, b, frame).abs().amax(-1) <= tol)
    E = torch.where(valid[..., None, None], E, torch.zeros_like(E))
    return E.to(dtype), valid


def _validate(x1, x2) -> tuple[torch.Tensor, torch.Tensor]:
    x1 = _checks.points(x1, "x1", 2, 5, exact=True)
    x2 = _checks.points(x2, "x2", 2, 5, exact=True)
    return _checks.pair(x1, x2, ("x1", "x2"))


def degeneracy(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Per problem (...,) int8: ``RANK``, ``ROTATION`` or ``OK`` for validated points x1, x2 (..., 5, 2).

    - ``RANK``: the 5x9 epipolar matrix has rank < 5 up to 1000 machine epsilons (repeated points...);
    - ``ROTATION``: the bearing vectors b = xh / |xh| satisfy b2_i = R b1_i for one rotation R (Kabsch
      on the bearings, each b2_i re-oriented by the sign of b2_i . R b1_i) up to
      max_i |b2_i x R b1_i| <= 1000 eps of the input dtype. Then every E = [t]_x R fits the points: E is
      not determined by the data (t = 0, or x2 = x1 with R = I).

    Both exact tests (an SVD of the 5x9 matrix, two 3x3 SVDs) run only on the problems that a cheap,
    conservative screen cannot clear (``_rank_screen``, ``_rotation_screen``): a generic batch pays
    for one 5x5 determinant and two 5x5 Gram matrices per problem. The flags are those of the exact tests.
    """
    tol = 1e3 * torch.finfo(x1.dtype).eps
    with torch.no_grad():
        a, b = x1.detach().to(torch.float64), x2.detach().to(torch.float64)
        A = epipolar_rows(a, b)
        b1 = torch.nn.functional.normalize(torch.cat([a, torch.ones_like(a[..., :1])], -1), dim=-1)
        b2 = torch.nn.functional.normalize(torch.cat([b, torch.ones_like(b[..., :1])], -1), dim=-1)
        rank = _exact_where(_rank_screen(A, tol), lambda A: _checks.rank_deficient(torch.linalg.svdvals(A), 4, tol=tol), A)
        rotation = _exact_where(_rotation_screen(b1, b2, tol), lambda b1, b2: _rotation_misfit(b1, b2) <= tol, b1, b2)
    reason = torch.full(x1.shape[:-2], OK, dtype=torch.int8)
    reason = torch.where(rotation, torch.tensor(ROTATION, dtype=torch.int8), reason)
    return torch.where(rank, torch.tensor(RANK, dtype=torch.int8), reason)


def _exact_where(suspect: torch.Tensor, test, *args: torch.Tensor) -> torch.Tensor:
    """(...,) bool: ``test(*args)`` on the ``suspect`` problems only (False elsewhere)."""
    out = torch.zeros_like(suspect)
    if bool(suspect.any()):
        out[suspect] = test(*(x[suspect] for x in args))
    return out


def _rank_screen(A: torch.Tensor, tol: float) -> torch.Tensor:
    """(...,) bool: False where A (..., 5, 9) surely has s_5 > tol s_1, True where it may not.

    Since s_1 <= |A|_F and det(A A^T) = s_1^2 ... s_5^2 <= s_5^2 |A|_F^8, the ratio
    d = det(A A^T) / |A|_F^10 bounds (s_5 / s_1)^2 from below. d is computed to about 1e-13
    absolute (LU of a matrix of norm 1), so d > max(100 tol^2, 1e-11) certifies full rank.
    """
    An = A / torch.linalg.matrix_norm(A)[..., None, None].clamp_min(torch.finfo(A.dtype).tiny)
    d = torch.linalg.det(An @ An.transpose(-1, -2))
    return ~(d > max(100 * tol**2, 1e-11))


def _rotation_screen(b1: torch.Tensor, b2: torch.Tensor, tol: float) -> torch.Tensor:
    """(...,) bool: False where the bearings b1, b2 (..., 5, 3) are surely not a rotation of each other.

    A rotation (with sign flips) keeps |b_i . b_j|; if b2_i = +-R b1_i + d_i with |d_i| <= 1.0001 tol
    (what ``_rotation_misfit`` <= tol means), the Gram entries' moduli differ by at most 2.0001 tol
    plus round-off. A difference above 10 tol (at least 1e-10) rules the rotation out.
    """
    g1 = (b1 @ b1.transpose(-1, -2)).abs()
    g2 = (b2 @ b2.transpose(-1, -2)).abs()
    return (g1 - g2).abs().amax((-1, -2)) <= max(10 * tol, 1e-10)


def _rotation_misfit(b1: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
    """max_i |b2_i x R b1_i| for the Kabsch rotation R of b1 onto b2, after re-orienting each b2_i."""
    R = _bearing_rotation(b1, b2)
    # a point behind a camera has its bearing's sign flipped (x h = -b): re-orient, fit again
    b2 = b2 * torch.where(((b1 @ R.transpose(-1, -2)) * b2).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    R = _bearing_rotation(b1, b2)
    return torch.linalg.cross(b2, b1 @ R.transpose(-1, -2)).norm(dim=-1).amax(-1)


def _bearing_rotation(b1: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
    """Kabsch: the rotation R (..., 3, 3) best mapping the unit vectors b1 onto b2 (..., 5, 3)."""
    U, _, Vh = torch.linalg.svd(b2.transpose(-1, -2) @ b1)
    d = torch.linalg.det(U @ Vh).sign()
    return (U * torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1).unsqueeze(-2)) @ Vh


@functools.lru_cache(maxsize=1)
def _stand_in() -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed generic five-point problem (float64) computed in place of degenerate ones in a batch."""
    scene = data.two_view(5, seed=20240)
    return scene.x1, scene.x2


def five_point(x1, x2, *, backward: str = "autograd", null_space: str = "qr", refine: bool = False,
               tol: float | None = None) -> Solutions:
    """All essential matrices through five calibrated correspondences x1, x2 (..., 5, 2).

    Returns ``Solutions``, which unpacks as the pair (E, valid): E (..., 10, 3, 3), unit Frobenius
    norm, sign arbitrary, in the input's dtype; valid (..., 10) bool marks the solutions (up to 10;
    typically 2-6); entries with valid False are zero. A solution is valid when it is a real root
    and its E satisfies the essential constraints (det E and 2 E E^T E - tr(E E^T) E, see
    ``essential_constraints``) to ``tol`` in max-abs: by default 1e-3 (``VALID_TOL``), or 1e-9
    (``REFINED_TOL``) with ``refine=True``. ``Solutions.reason`` (...,) says per problem why it has
    no valid solution (``REASONS``).

    - float32 input is solved in float64 internally, the IFT/DDN backward included, and E returned in
      float32 (a float32 elimination misses roots and accepts non-essential matrices); gradients flow
      to float32 inputs.
    - ``refine=True`` polishes every root by five Newton steps on the essential residual
      (``refine_roots``): it recovers the digits the eigenvalue stage loses at small baselines.
    - Degenerate problems (rank-deficient epipolar matrix, or x2 a rotation of x1: see ``degeneracy``)
      raise ValueError for a single problem (x1 of shape (5, 2)); inside a batch they come back with no
      valid solution, zero E, zero gradient and their ``reason``, and the other problems are solved.

    ``null_space`` ("qr", "svd", "gram_svd"; see ``null_space_basis``) changes only the basis of
    stage 1, hence the order of the solutions and what ``backward="autograd"`` differentiates;
    the IFT and DDN backwards use only the forward's values and give the same gradient for each.
    Raises ValueError for wrong shapes (exactly 5 points), NaN/inf, a dtype other than
    float32/float64, and an unknown ``backward`` or ``null_space``.
    """
    check_mode(backward)
    check_null_space(null_space)
    if tol is not None and not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol > 0):
        raise ValueError(f"tol: expected a positive number, got {tol!r}")
    x1, x2 = _validate(x1, x2)
    reason = degeneracy(x1, x2)
    bad = reason != OK
    if x1.dim() == 2 and bool(bad):
        raise ValueError(f"x1, x2: {REASONS[int(reason)]}")
    if bool(bad.any()):  # solve a harmless stand-in in their place, then mark them
        s1, s2 = (s.to(x1) for s in _stand_in())
        x1 = torch.where(bad[..., None, None], s1, x1)
        x2 = torch.where(bad[..., None, None], s2, x2)
    forward = functools.partial(_five_point_forward, null_space=null_space, refine=refine, tol=tol)
    # float64 throughout, the backward included (the casts are differentiable); E in the caller's dtype
    E, valid = dispatch(FIVE_POINT, forward, (x1.to(torch.float64), x2.to(torch.float64)), backward)
    E = E.to(x1.dtype)
    if bool(bad.any()):
        valid = valid & ~bad.unsqueeze(-1)
        E = torch.where(valid[..., None, None], E, torch.zeros_like(E))
    reason = torch.where(~bad & ~valid.any(-1), torch.tensor(NO_SOLUTION, dtype=torch.int8), reason)
    return Solutions(E, valid, reason)


# -- the declaration: residual (above), declarative node, unknowns, test problems, loss, benchmark ------------

def _unknowns(out: tuple[torch.Tensor, torch.Tensor], x1: torch.Tensor, x2: torch.Tensor) -> Unknowns:
    """One row per valid root: y0 = vec E (R, 9), the points of its problem, the frame (aux); context: the
    roots' flat indices. Only the valid (real) solutions solve the equations; the others keep a zero gradient."""
    E, valid = out
    batch, n_sol = x1.shape[:-2], E.shape[-3]
    idx = torch.nonzero(valid.reshape(-1)).flatten()
    item = idx // n_sol
    Ev = E.reshape(-1, 3, 3)[idx]
    return Unknowns(Ev.flatten(1), (flat(x1, batch)[item], flat(x2, batch)[item]), (essential_frame(Ev),), idx)


def _output(e: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor], u: Unknowns) -> tuple[torch.Tensor, torch.Tensor]:
    E, valid = out
    moving = torch.zeros_like(E.reshape(-1, 3, 3)).index_put((u.context,), e.reshape(-1, 3, 3))
    return straight_through(E, moving.reshape(E.shape)), valid


def essential_objective(e: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """The sum of squared epipolar residuals (zero at a minimal problem's solution), one root."""
    return (epipolar_residuals(e.reshape(3, 3), x1, x2) ** 2).sum()


def essential_node_constraints(e: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, frame: torch.Tensor
                               ) -> torch.Tensor:
    """(|E|^2 - 1)/2, det E, <N1, T(E)>, <N2, T(E)>: the last four rows of ``essential_residual``."""
    return essential_residual(e, x1, x2, frame)[5:]


def _inputs(batch: int, seed: int | torch.Generator = 0, gap=None, dtype: torch.dtype = torch.float64
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(x1, x2) (batch, 5, 2): noise-free calibrated correspondences; with ``gap``, a nearly pure rotation
    (baseline ``gap``), where E stops being determined."""
    g = data.generator(seed)
    baseline = 1.0 if gap is None else float(gap)
    tv = data.two_view(5, (batch,), noise=0.0, baseline=baseline, seed=g, dtype=dtype)
    return tv.x1, tv.x2


def _loss(out: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The square of a fixed random linear functional of every valid E, summed over the valid roots: invariant
    to E's sign and to the order of the roots."""
    E, valid = out
    return (((E * fixed_weights((3, 3)).to(E.dtype)).sum((-1, -2)) ** 2) * valid).sum(-1)


def _bench(batch: int, points: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    five = data.two_view(5, batch, seed=2, dtype=dtype)
    return five.x1, five.x2


FIVE_POINT = register(SolverSpec(
    name="five_point", solver=five_point, forward=_five_point_forward,
    residual=ClosedForm(essential_residual, essential_jacobian, essential_vjp_x),
    node=DeclarativeNode(essential_objective, essential_node_constraints, name="five_point (ddn)"),
    unknowns=_unknowns, output=_output,
    # the IFT as a 5 x 5 system on the tangent space of the essential manifold: the same gradient as the
    # 9 x 9 residual above (the tests compare them), several times cheaper
    backwards={"ift": functools.partial(essential_tangent.attach, name="five_point (ift)")},
    # autograd through an SVD null space instead of the QR + projector, as in the MinBackProp paper's baselines
    baselines={"autograd (svd null space)": {"null_space": "svd"},
               "autograd (gram svd null space)": {"null_space": "gram_svd"}},
    inputs=_inputs, loss=_loss, bench=_bench, points=5))
