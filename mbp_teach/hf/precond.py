"""Preconditioners for the CG solves of Hessian-free: none, Martens' diagonal, implicit L-BFGS.

Each is a callable ``M(r) -> z ~ (G + lambda I)^{-1} r`` with a ``prepare(...)`` hook the
optimiser calls before each solve.

* ``Identity``: plain CG.
* ``MartensDiagonal``: M^{-1} = (diag(sum_i g_i^2) / N + lambda I)^xi with xi = 3/4 (Martens 2010):
  the per-example squared gradients estimate the scale of each parameter's curvature.
* ``LBFGS``: the inverse of (G + lambda I) estimated by the L-BFGS two-loop recursion from the last
  m curvature pairs (s, y = (G + lambda I) s) that CG produced -- no extra products, nothing stored
  but 2m vectors (Sainath et al. 2013). The pairs carry over from one HF iteration to the next,
  where the matrix has changed a little; pairs with s^T y <= 0 are skipped. Initial scaling
  H_0 = (s^T y / y^T y) I from the newest pair (Nocedal & Wright, eq. 7.20). ``LBFGS.two_loop`` is the
  textbook recursion; calls use the equal compact form (Byrd, Nocedal & Schnabel 1994), about 2x cheaper
  per application at m = 20 because it is a few matrix products instead of 4m small vector operations.
"""

from __future__ import annotations

from collections import deque

import torch

from mbp_teach.validation import check_positive


class Identity:
    name = "none"

    def prepare(self, **_) -> None:
        pass

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return r

    def add_pair(self, s: torch.Tensor, y: torch.Tensor) -> None:
        pass

    def end_solve(self) -> None:
        pass


class MartensDiagonal(Identity):
    name = "diagonal"

    def __init__(self, exponent: float = 0.75):
        check_positive(exponent, "exponent")
        self.exponent = exponent
        self.diag: torch.Tensor | None = None

    def prepare(self, squared_gradients: torch.Tensor | None = None, damping: float = 0.0, **_) -> None:
        if squared_gradients is None:
            raise ValueError("MartensDiagonal.prepare: needs squared_gradients (sum_i g_i^2 / N)")
        self.diag = (squared_gradients + damping) ** self.exponent

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        if self.diag is None:
            return r
        # guard the all-zero case (damping 0 and a parameter no example moves)
        return r / torch.clamp(self.diag, min=torch.finfo(r.dtype).tiny)


class LBFGS(Identity):
    """Two-loop recursion over ``memory`` pairs.

    CG offers every pair it makes (``add_pair``); ``end_solve()`` then installs ``memory`` of the
    solve's pairs for the next solve: ``selection='uniform'`` spreads them evenly over the solve
    (Morales & Nocedal 2000: early pairs see the large eigenvalues, late ones the small),
    ``'last'`` keeps the newest. ``during_solve=True`` also pushes each new pair into the active set at
    once, so the preconditioner changes inside a solve (use flexible CG).
    """

    name = "L-BFGS"

    def __init__(self, memory: int = 20, selection: str = "last", during_solve: bool = False,
                 curvature_floor: float = 1e-12):
        if not isinstance(memory, int) or isinstance(memory, bool) or memory < 1:
            raise ValueError(f"memory: need an integer >= 1 (number of (s, y) pairs), got {memory!r}")
        if selection not in ("uniform", "last"):
            raise ValueError(f"selection: expected 'uniform' or 'last', got {selection!r}")
        self.memory, self.selection, self.during_solve = memory, selection, during_solve
        self.floor = curvature_floor
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor, float]] = deque(maxlen=memory)
        self.candidates: list[tuple[torch.Tensor, torch.Tensor, float]] = []
        # (S, Y, R, middle, gamma) of the compact form, rebuilt after every change of the active pairs
        self._compact_form: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float] | None = None

    def _pair(self, s: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float] | None:
        sy = float(s @ y)
        if sy > self.floor * float(s @ s):  # only pairs of positive curvature keep H positive definite
            return s.detach().clone(), y.detach().clone(), 1.0 / sy
        return None

    def add_pair(self, s: torch.Tensor, y: torch.Tensor) -> None:
        pair = self._pair(s, y)
        if pair is None:
            return
        self.candidates.append(pair)
        if self.during_solve:
            self.pairs.append(pair)
            self._compact_form = None

    def end_solve(self) -> None:
        """Install ``memory`` of the pairs the last solve produced (kept in their order)."""
        c = self.candidates
        if c:
            if self.selection == "last" or len(c) <= self.memory:
                chosen = c[-self.memory:]
            else:
                step = (len(c) - 1) / (self.memory - 1) if self.memory > 1 else 0.0
                chosen = [c[round(j * step)] for j in range(self.memory)] if self.memory > 1 else [c[-1]]
            self.pairs.clear()
            self.pairs.extend(chosen)
            self._compact_form = None
        self.candidates = []

    def two_loop(self, r: torch.Tensor) -> torch.Tensor:
        """H r by the two-loop recursion (Nocedal & Wright, Algorithm 7.4): the textbook form, 4m vector ops."""
        if not self.pairs:
            return r
        q = r.clone()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        s, y, rho = self.pairs[-1]
        q *= 1.0 / (rho * float(y @ y))  # H_0 = gamma I, gamma = s^T y / y^T y of the newest pair
        for (s, y, rho), a in zip(self.pairs, reversed(alphas), strict=True):
            b = rho * float(y @ q)
            q += (a - b) * s
        return q

    def _compact(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float]:
        """The same H in compact form (Byrd, Nocedal & Schnabel 1994, Thm 2.2), S, Y (m, n) oldest first:

            H r = gamma r + S^T p - gamma Y^T c,  c = R^{-1} S r,  p = R^{-T} ((D + gamma Y Y^T) c - gamma Y r),

        R = upper triangle of S Y^T (R_ij = s_i^T y_j, i <= j), D its diagonal. Built once per set of pairs, it
        applies H with two (m, n) products each way instead of 4m separate vector operations.
        """
        if self._compact_form is None:
            S = torch.stack([s for s, _, _ in self.pairs])
            Y = torch.stack([y for _, y, _ in self.pairs])
            SY = S @ Y.T
            gamma = float(SY[-1, -1] / (Y[-1] @ Y[-1]))
            R = torch.triu(SY)
            middle = torch.diag(torch.diagonal(SY)) + gamma * (Y @ Y.T)
            self._compact_form = (S, Y, R, middle, gamma)
        return self._compact_form

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        if not self.pairs:
            return r
        S, Y, R, middle, gamma = self._compact()
        c = torch.linalg.solve_triangular(R, (S @ r)[:, None], upper=True)
        rhs = middle @ c - gamma * (Y @ r)[:, None]
        p = torch.linalg.solve_triangular(R.T, rhs, upper=False)
        return gamma * r + S.T @ p[:, 0] - gamma * (Y.T @ c[:, 0])


def make(kind: str, memory: int = 20, **lbfgs_options) -> Identity:
    """'none', 'diagonal' or 'lbfgs' (``lbfgs_options``: selection, during_solve)."""
    if kind == "none":
        return Identity()
    if kind == "diagonal":
        return MartensDiagonal()
    if kind == "lbfgs":
        return LBFGS(memory, **lbfgs_options)
    raise ValueError(f"preconditioner: expected 'none', 'diagonal' or 'lbfgs', got {kind!r}")
