"""The action-matrix method in two unknowns: where two conics meet (notebook 01's warm-up for the 5-point solver).

A conic is c . (x^2, xy, y^2, x, y, 1) = 0. Two generic conics meet in 4 points (Bezout: 2 x 2). Multiplying
each by 1, x and y gives 6 equations in the 10 monomials of degree <= 3 (``MONOMIALS``). Gauss-Jordan on the
first 6 columns writes each of x^3, x^2y, xy^2, y^3, x^2, xy in terms of the last 4, b = (y^2, x, y, 1)
(``BASIS``). Then x * b = (xy^2, x^2, xy, x) is again a combination of b, which is the 4 x 4 action matrix
A with A b(s) = x_s b(s) at every solution s: its eigenvalues are the x of the 4 points and its eigenvectors,
scaled so that their last entry (the monomial 1) is 1, give y = b_3.

The same three steps (expand, eliminate, read off x * b) are the 5-point solver's stages 2 to 4 in three
unknowns (``essential``).
"""

from __future__ import annotations

import torch

CONIC: list[tuple[int, int]] = [(2, 0), (1, 1), (0, 2), (1, 0), (0, 1), (0, 0)]  # x^2, xy, y^2, x, y, 1
# degree <= 3: the 6 eliminated monomials first, then the basis b
MONOMIALS_XY: list[tuple[int, int]] = [(3, 0), (2, 1), (1, 2), (0, 3), (2, 0), (1, 1), (0, 2), (1, 0), (0, 1), (0, 0)]
ELIMINATED = MONOMIALS_XY[:6]
BASIS_XY = MONOMIALS_XY[6:]  # y^2, x, y, 1


def name(e: tuple[int, int]) -> str:
    """'x^2y' style name of the monomial x^a y^b (``'1'`` for the constant)."""
    parts = [f"{v}^{k}" if k > 1 else v for v, k in zip("xy", e, strict=True) if k]
    return "".join(parts) or "1"


MONOMIAL_NAMES = [name(e) for e in MONOMIALS_XY]
BASIS_NAMES = [name(e) for e in BASIS_XY]


def conic_value(c: torch.Tensor, x, y):
    """c . (x^2, xy, y^2, x, y, 1) at (x, y) (broadcast; complex allowed)."""
    return sum(ck * x**a * y**b for ck, (a, b) in zip(c, CONIC, strict=True))


def expanded_system(c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    """(6, 10): the rows 1*f1, x*f1, y*f1, 1*f2, x*f2, y*f2 over ``MONOMIALS_XY``."""
    rows = []
    for c in (c1, c2):
        for shift in ((0, 0), (1, 0), (0, 1)):
            row = torch.zeros(len(MONOMIALS_XY), dtype=c.dtype)
            for ck, (a, b) in zip(c, CONIC, strict=True):
                row[MONOMIALS_XY.index((a + shift[0], b + shift[1]))] += ck
            rows.append(row)
    return torch.stack(rows)


def conic_action_matrix(c1: torch.Tensor, c2: torch.Tensor, rcond: float = 1e-10) -> tuple[torch.Tensor, bool]:
    """(A (4, 4), ok): the action matrix of x on b = (y^2, x, y, 1), A b = x b at each common point.

    ``ok`` is False when the 6 x 6 eliminated block is singular (relative to ``rcond``): then fewer than 4
    finite points exist or b cannot separate them (two circles, for instance, also meet in two points at
    infinity), and A is returned as zeros.
    """
    c1, c2 = torch.as_tensor(c1, dtype=torch.float64), torch.as_tensor(c2, dtype=torch.float64)
    if c1.shape != (6,) or c2.shape != (6,):
        raise ValueError(f"c1, c2: expected 6 coefficients each, got {tuple(c1.shape)} and {tuple(c2.shape)}")
    M = expanded_system(c1, c2)
    block = M[:, :6]
    sv = torch.linalg.svdvals(block)
    if not bool(sv[-1] > rcond * sv[0]):
        return torch.zeros(4, 4, dtype=torch.float64), False
    G = torch.linalg.solve(block, M[:, 6:])   # eliminated monomial k = -G[k] . b at every common point
    A = torch.zeros(4, 4, dtype=torch.float64)
    for k, (a, b) in enumerate(BASIS_XY):
        product = (a + 1, b)                  # x * b_k
        if product in BASIS_XY:
            A[k, BASIS_XY.index(product)] = 1.0
        else:
            A[k] = -G[ELIMINATED.index(product)]
    return A, True


def conic_intersections(c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    """The 4 common points (4, 2) complex of two conics, from the eigenvectors of the action matrix.

    Raises ValueError where ``conic_action_matrix`` is not ok.
    """
    A, ok = conic_action_matrix(c1, c2)
    if not ok:
        raise ValueError("c1, c2: the elimination block is singular (fewer than 4 finite intersections, or "
                         "b = (y^2, x, y, 1) cannot separate them)")
    lam, V = torch.linalg.eig(A)
    v = V.T / V.T[:, 3:4]                     # each eigenvector scaled so that its entry '1' is 1
    return torch.stack([lam, v[:, 2]], dim=-1)


def basis_at(points: torch.Tensor) -> torch.Tensor:
    """b = (y^2, x, y, 1) at each point (k, 2) -> (k, 4)."""
    x, y = points[:, 0], points[:, 1]
    return torch.stack([y**2, x, y, torch.ones_like(x)], dim=-1)
