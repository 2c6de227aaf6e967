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
"""

from __future__ import annotations

import functools
import itertools

import torch

from ..backward import check_mode, dispatch
from . import _checks
from .epipolar import epipolar_rows

N_SOLUTIONS = 10


def _monomials(degree: int) -> list[tuple[int, int, int]]:
    """Exponents (a, b, c) of x^a y^b z^c of exactly ``degree``, graded reverse lexicographic (x > y > z)."""
    return sorted((e for e in itertools.product(range(degree + 1), repeat=3) if sum(e) == degree), reverse=True)


LINEAR = _monomials(1) + _monomials(0)  # x, y, z, 1: the coefficients of E1, E2, E3, E4
QUADRATIC = _monomials(2) + LINEAR  # the 10 monomials of degree <= 2
CUBIC = _monomials(3) + QUADRATIC  # the 20 monomials of degree <= 3; the first 10 are cubic


def _name(e: tuple[int, int, int]) -> str:
    parts = [v + (f"^{k}" if k > 1 else "") for v, k in zip("xyz", e) if k]
    return "".join(parts) or "1"


MONOMIALS: list[str] = [_name(e) for e in CUBIC]
BASIS: list[str] = MONOMIALS[10:]  # x^2, xy, xz, y^2, yz, z^2, x, y, z, 1


def _product_table(left: list, right: list, out: list) -> torch.Tensor:
    """T[a, b, m] = 1 when monomial left[a] * right[b] = out[m]: polynomial products as einsum."""
    T = torch.zeros(len(left), len(right), len(out), dtype=torch.float64)
    index = {e: m for m, e in enumerate(out)}
    for a, ea in enumerate(left):
        for b, eb in enumerate(right):
            T[a, b, index[tuple(i + j for i, j in zip(ea, eb))]] = 1.0
    return T


_LIN_LIN = _product_table(LINEAR, LINEAR, QUADRATIC)  # (4, 4, 10)
_QUAD_LIN = _product_table(QUADRATIC, LINEAR, CUBIC)  # (10, 4, 20)
# x * b for each basis monomial b, as an index into CUBIC: rows 0-5 land on cubic monomials
# (reduced by G), rows 6-9 (x*x, x*y, x*z, x*1) land back on basis monomials.
_X_TIMES_BASIS = [CUBIC.index((e[0] + 1, e[1], e[2])) for e in QUADRATIC]


def _tables(dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    return _LIN_LIN.to(dtype=dtype, device=device), _QUAD_LIN.to(dtype=dtype, device=device)


NULL_SPACES = ("qr", "svd", "gram_svd")


def check_null_space(method: str) -> None:
    if method not in NULL_SPACES:
        raise ValueError(f"null_space: must be one of {', '.join(repr(m) for m in NULL_SPACES)}, got {method!r}")


def null_space_basis(x1: torch.Tensor, x2: torch.Tensor, method: str = "qr") -> torch.Tensor:
    """Four 3x3 matrices (..., 4, 3, 3) spanning {E : x2h_i^T E x1h_i = 0, i = 1..5}.

    ``method`` picks the basis and, with it, what autograd differentiates:

    - ``"qr"`` (default): the orthonormal complement from a complete QR of the 9x5 matrix A^T,
      re-attached to the graph by the projector P = I - A^T (A A^T)^-1 A: N = P N0 with N0 held
      constant equals N0 in value, but its gradient is that of a smooth basis;
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
    N = N0 - At @ torch.linalg.solve(A @ At, A @ N0)
    return N.transpose(-1, -2).unflatten(-1, (3, 3))


def _poly_mul(p: torch.Tensor, q: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Coefficients of p * q, elementwise over leading dims: (..., P) x (..., Q) -> (..., M)."""
    return torch.einsum("...a,...b,abm->...m", p, q, table)


def constraint_matrix(basis: torch.Tensor) -> torch.Tensor:
    """C (..., 10, 20): row 0 is det E, rows 1-9 are 2 E E^T E - tr(E E^T) E (row-major),
    as coefficients over ``MONOMIALS`` for E = x E1 + y E2 + z E3 + E4."""
    ll, ql = _tables(basis.dtype, basis.device)
    E = basis.movedim(-3, -1)  # (..., 3, 3, 4): entry (i, j) is a linear polynomial
    EEt = torch.einsum("...ika,...jkb,abm->...ijm", E, E, ll)  # (..., 3, 3, 10)
    tr = EEt[..., 0, 0, :] + EEt[..., 1, 1, :] + EEt[..., 2, 2, :]
    EEtE = torch.einsum("...ikm,...kjc,mcn->...ijn", EEt, E, ql)
    trE = torch.einsum("...m,...ijc,mcn->...ijn", tr, E, ql)
    trace = 2.0 * EEtE - trE  # (..., 3, 3, 20)
    # det E by the first row's cofactors: cof_j = E[1, j+1] E[2, j+2] - E[1, j+2] E[2, j+1]
    r1, r2 = E[..., 1, :, :], E[..., 2, :, :]
    j1, j2 = [1, 2, 0], [2, 0, 1]
    cof = _poly_mul(r1[..., j1, :], r2[..., j2, :], ll) - _poly_mul(r1[..., j2, :], r2[..., j1, :], ll)
    det = torch.einsum("...jm,...jc,mcn->...n", cof, E[..., 0, :, :], ql)
    return torch.cat([det.unsqueeze(-2), trace.flatten(-3, -2)], dim=-2)


def eliminate(C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss-Jordan on the cubic block: (G (..., 10, 10), ok (...,)) with C1^-1 C = [I | G].

    ``ok`` is False where C1 is singular (a degenerate problem); G is then set to zero so the
    later stages stay finite, and those problems get no valid solution.
    """
    G, info = torch.linalg.solve_ex(C[..., :10], C[..., 10:])
    ok = (info == 0) & torch.isfinite(G).all(-1).all(-1)
    return torch.where(ok[..., None, None], G, torch.zeros_like(G)), ok


def action_matrix(G: torch.Tensor) -> torch.Tensor:
    """A (..., 10, 10) with A b(x, y, z) = x b(x, y, z) at every solution, b = ``BASIS``.

    Row k expresses x * b_k: for k < 6 it is a cubic monomial, equal to -G[row] by the
    eliminated equations; for k >= 6 it is a basis monomial again (a unit row).
    """
    rows = []
    for k, m in enumerate(_X_TIMES_BASIS):
        if m < 10:
            rows.append(-G[..., m, :])
        else:
            rows.append(torch.nn.functional.one_hot(torch.tensor(m - 10), 10).to(G).expand(G.shape[:-2] + (10,)))
    return torch.stack(rows, dim=-2)


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


def compose_essential(basis: torch.Tensor, xyz: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """E (..., 10, 3, 3) = x E1 + y E2 + z E3 + E4 from the real parts, unit Frobenius norm;
    zero matrices where ``valid`` is False (so every entry is finite)."""
    coef = torch.where(valid.unsqueeze(-1), xyz.real, torch.zeros_like(xyz.real))
    coef = torch.cat([coef, torch.ones_like(coef[..., :1])], dim=-1)  # (..., 10, 4)
    E = torch.einsum("...sk,...kij->...sij", coef, basis)
    E = E / torch.linalg.matrix_norm(E)[..., None, None]
    return torch.where(valid[..., None, None], E, torch.zeros_like(E))


def essential_constraints(E: torch.Tensor) -> torch.Tensor:
    """(..., 10): det E and the nine entries of 2 E E^T E - tr(E E^T) E; all zero for an essential matrix."""
    EEt = E @ E.transpose(-1, -2)
    tr = EEt.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    trace = 2.0 * EEt @ E - tr * E
    return torch.cat([torch.linalg.det(E).unsqueeze(-1), trace.flatten(-2)], dim=-1)


def _five_point_forward(x1: torch.Tensor, x2: torch.Tensor, null_space: str = "qr"
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(E (..., 10, 3, 3), valid (..., 10)) from validated (..., 5, 2) calibrated points.

    Plain autograd-differentiable (through solve, linalg.eig and ``null_space_basis``); a loss
    must use only valid entries and be invariant to the sign of E.
    """
    basis = null_space_basis(x1, x2, null_space)
    G, ok = eliminate(constraint_matrix(basis))
    xyz, valid = roots_from_action(action_matrix(G), ok)
    return compose_essential(basis, xyz, valid), valid


def _validate(x1, x2) -> tuple[torch.Tensor, torch.Tensor]:
    x1 = _checks.points(x1, "x1", 2, 5, exact=True)
    x2 = _checks.points(x2, "x2", 2, 5, exact=True)
    x1, x2 = _checks.pair(x1, x2, ("x1", "x2"))
    with torch.no_grad():
        s = torch.linalg.svdvals(epipolar_rows(x1.detach(), x2.detach()))
    _checks.fail_where(_checks.rank_deficient(s, 4),
                       "x1, x2: the 5x9 epipolar matrix has rank < 5 (repeated or degenerate points), "
                       "so E is not determined")
    return x1, x2


def five_point(x1, x2, *, backward: str = "autograd", null_space: str = "qr") -> tuple[torch.Tensor, torch.Tensor]:
    """All essential matrices through five calibrated correspondences x1, x2 (..., 5, 2).

    Returns E (..., 10, 3, 3), unit Frobenius norm, sign arbitrary, and valid (..., 10) bool
    marking the real solutions (up to 10; typically 2-6). Entries with valid False are zero.
    ``null_space`` ("qr", "svd", "gram_svd"; see ``null_space_basis``) changes only the basis of
    stage 1, hence the order of the solutions and what ``backward="autograd"`` differentiates;
    the IFT and DDN backwards use only the forward's values and give the same gradient for each.
    Raises ValueError for wrong shapes (exactly 5 points), NaN/inf, rank-deficient point sets and
    an unknown ``backward`` or ``null_space``.
    """
    check_mode(backward)
    check_null_space(null_space)
    x1, x2 = _validate(x1, x2)
    forward = functools.partial(_five_point_forward, null_space=null_space)
    return dispatch("five_point", forward, (x1, x2), backward)
