"""``HessianFree``: Martens' (2010) truncated-Newton optimiser as a ``torch.optim.Optimizer``,
with the two accelerations of Sainath et al. (2013): an implicit L-BFGS preconditioner and
geometrically growing samples.

One iteration k (``step(objective)``):

1. samples: a gradient sample S_k of |S_k| = min(N, ceil(N f_0 a^k)) examples (f_0 = ``sample_start``,
   a = ``sample_growth``) and a curvature sample, the first ``curvature_fraction`` of S_k;
2. gradient g and loss f on S_k; curvature products (G + lambda I) v on the curvature sample;
3. CG on (G + lambda I) d = -g, warm-started from ``warm_start`` x the previous solution, stopped by
   Martens' relative-progress rule or ``max_cg``, keeping iterates at i = ceil(5 * 1.3^j);
4. CG backtracking: from the last kept iterate, step back while the loss on S_k improves;
5. rho = (f(theta + d) - f(theta)) / phi(d), phi the quadratic model CG minimised;
   rho < 1/4 -> lambda = max(3/2 lambda, ``damping_floor``), rho > 3/4 -> lambda = max(2/3 lambda, ``min_damping``)
   (Levenberg-Marquardt). The floor matters when lambda is 0 (``damping=0``) or tiny: a purely
   multiplicative rule would keep lambda = 0 for ever, however bad the model;
6. Armijo line search on theta + t d: t = 1, 0.8, 0.8^2, ..., 0.8^``max_shrinks`` until
   f(theta + t d) <= f(theta) + c t g^T d (c = 1e-2); every loss evaluated is tested (and counted);
   no acceptable t -> no step.

Cost accounting in gradient-equivalent passes over the N training examples, by the usual
FLOP ratio (a forward pass ~ 1/3 of a gradient, a backward pass ~ 2/3): a gradient on m examples
counts m/N, a loss m/(3N), a Gauss-Newton product (forward with tangents + backward) 4m/(3N).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from mbp_teach.hf import precond as pc
from mbp_teach.hf.conjugate_gradient import backtrack_grid, cg
from mbp_teach.hf.curvature import ModuleObjective
from mbp_teach.validation import check_positive, check_range

FORWARD, GRADIENT, CURVATURE = 1.0 / 3.0, 1.0, 4.0 / 3.0


@dataclass
class IterationLog:
    iteration: int
    loss: float  # on the gradient sample, after the step
    loss_before: float
    cg_iters: int
    cg_stop: str
    backtracked_to: int
    damping: float  # lambda used for this iteration's solve
    rho: float
    step_size: float
    samples: int
    curvature_samples: int
    passes: float  # cumulative gradient-equivalent passes
    wall: float  # cumulative seconds inside step()
    cpu: float  # cumulative CPU seconds of this process inside step() (less sensitive to a shared CPU)


class HessianFree(torch.optim.Optimizer):
    """Hessian-free (truncated Gauss-Newton) optimiser; ``step(objective)`` runs one HF iteration.

    ``objective`` is a :class:`~mbp_teach.hf.curvature.ModuleObjective` whose model owns ``params``.
    ``log`` holds one :class:`IterationLog` per iteration.

    Damping: ``damping`` is the initial lambda (0 allowed); the rho rule never lowers it below ``min_damping``
    and, when it raises it, raises it to at least ``damping_floor`` (> 0), so a run started at (or decayed to)
    lambda ~ 0 can still recover from a bad model. ``max_shrinks``: the most step shrinks of the line search.
    A loss or gradient that is NaN or infinite at the current parameters raises ``ValueError``.
    """

    def __init__(self, params, damping: float = 1.0, max_cg: int = 250, warm_start: float = 0.95,
                 curvature: str = "gn", preconditioner: str = "none", memory: int = 20, selection: str = "last",
                 during_solve: bool = False,
                 flexible: bool | None = None, martens_stop: bool = True, backtrack: bool = True,
                 line_search: bool = True, armijo_c: float = 1e-2, shrink: float = 0.8, max_shrinks: int = 40,
                 sample_start: float = 1.0, sample_growth: float = 1.0, curvature_fraction: float = 1.0,
                 min_damping: float = 0.0, damping_floor: float = 1e-6, seed: int = 0):
        check_positive(damping, "damping", allow_zero=True)
        check_positive(min_damping, "min_damping", allow_zero=True)
        check_positive(damping_floor, "damping_floor")
        if not isinstance(max_shrinks, int) or isinstance(max_shrinks, bool) or max_shrinks < 0:
            raise ValueError(f"max_shrinks: need a non-negative integer, got {max_shrinks!r}")
        if not isinstance(max_cg, int) or max_cg < 1:
            raise ValueError(f"max_cg: need an integer >= 1, got {max_cg!r}")
        check_range(warm_start, "warm_start", 0.0, 1.0)
        if curvature not in ("gn", "hessian"):
            raise ValueError(f"curvature: expected 'gn' (Gauss-Newton) or 'hessian', got {curvature!r}")
        check_range(armijo_c, "armijo_c", 0.0, 1.0, closed="neither")
        check_range(shrink, "shrink", 0.0, 1.0, closed="neither")
        check_range(sample_start, "sample_start", 0.0, 1.0, closed="right")
        check_positive(sample_growth, "sample_growth")
        if sample_growth < 1:
            raise ValueError(f"sample_growth: the sample must not shrink, need a >= 1, got {sample_growth}")
        check_range(curvature_fraction, "curvature_fraction", 0.0, 1.0, closed="right")
        self.preconditioner = pc.make(preconditioner, memory, **(
            dict(selection=selection, during_solve=during_solve) if preconditioner == "lbfgs" else {}))
        defaults = dict(damping=damping)
        super().__init__(params, defaults)
        self.damping = float(damping)
        self.max_cg, self.warm_start, self.curvature = max_cg, warm_start, curvature
        # a preconditioner that changes inside a solve needs the flexible (Polak-Ribiere) beta
        self.flexible = during_solve if flexible is None else flexible
        self.martens_stop, self.backtrack, self.line_search = martens_stop, backtrack, line_search
        self.armijo_c, self.shrink, self.max_shrinks = armijo_c, shrink, max_shrinks
        self.sample_start, self.sample_growth, self.curvature_fraction = sample_start, sample_growth, curvature_fraction
        self.min_damping, self.damping_floor = min_damping, damping_floor
        self.generator = torch.Generator().manual_seed(seed)
        self.grid = backtrack_grid(max_cg)
        self.log: list[IterationLog] = []
        self._previous: torch.Tensor | None = None
        self._passes = 0.0
        self._wall = 0.0
        self._cpu = 0.0

    def sample_size(self, k: int, n: int) -> int:
        """|S_k| = min(N, ceil(N f_0 a^k))."""
        return min(n, math.ceil(n * self.sample_start * self.sample_growth**k - 1e-9))

    def _check(self, objective: ModuleObjective) -> None:
        mine = [p for g in self.param_groups for p in g["params"]]
        theirs = list(objective.model.parameters())
        if len(mine) != len(theirs) or any(a is not b for a, b in zip(mine, theirs, strict=True)):
            raise ValueError("objective: its model's parameters are not the ones this optimiser was given")

    @torch.no_grad()
    def step(self, objective: ModuleObjective) -> float:  # type: ignore[override]  # HF needs an objective, not a closure
        self._check(objective)
        start, start_cpu = time.perf_counter(), time.process_time()
        k, n = len(self.log), objective.n
        m = self.sample_size(k, n)
        idx = None if m >= n else torch.randperm(n, generator=self.generator)[:m]
        mc = max(1, math.ceil(self.curvature_fraction * m - 1e-9))
        cidx = idx if mc >= m else (idx[:mc] if idx is not None else torch.randperm(n, generator=self.generator)[:mc])
        frac, cfrac = m / n, mc / n
        lam = self.damping

        theta = objective.get_params()
        with torch.enable_grad():
            f0, g = objective.loss_and_grad(theta, idx)
        if not (math.isfinite(f0) and bool(torch.isfinite(g).all())):
            raise ValueError(f"objective: the loss ({f0}) or its gradient is NaN or infinite at the current "
                             "parameters; HF cannot take a step from here")
        with torch.enable_grad():
            product = (objective.gauss_newton if self.curvature == "gn" else objective.hessian)(theta, cidx)
        self._passes += GRADIENT * frac

        def matvec(v):
            with torch.enable_grad():
                out = product(v)
            self._passes += CURVATURE * cfrac
            return out + lam * v

        if isinstance(self.preconditioner, pc.MartensDiagonal):
            with torch.enable_grad():
                self.preconditioner.prepare(squared_gradients=objective.squared_gradient_sum(theta, cidx), damping=lam)
            self._passes += GRADIENT * cfrac
        x0 = None
        if self._previous is not None and self.warm_start > 0:
            x0 = self.warm_start * self._previous
        d_final, hist = cg(matvec, -g, x0=x0, M=self.preconditioner, flexible=self.flexible, max_iters=self.max_cg,
                           rtol=1e-10, martens=self.martens_stop, keep=self.grid, on_pair=self.preconditioner.add_pair)
        self.preconditioner.end_solve()
        self._previous = d_final

        def loss_at(d):
            self._passes += FORWARD * frac
            return objective.loss(theta + d, idx)

        # backtrack over the kept iterates, newest first, while the loss keeps improving
        its = sorted(hist.kept)
        chosen = its[-1]
        f_new = loss_at(hist.kept[chosen])
        if self.backtrack:
            for i in reversed(its[:-1]):
                if i == 0:
                    break
                f_i = loss_at(hist.kept[i])
                if not f_i < f_new:
                    break
                chosen, f_new = i, f_i
        d = hist.kept[chosen]
        phi = hist.phi[chosen]
        rho = (f_new - f0) / phi if phi < 0 else -math.inf
        if not math.isfinite(f_new):
            rho = -math.inf
        if rho < 0.25:
            self.damping = max(lam * 1.5, self.damping_floor)
        elif rho > 0.75:
            self.damping = max(lam * 2.0 / 3.0, self.min_damping)

        t, slope = 1.0, float(g @ d)
        if self.line_search:
            def armijo(t: float, f_t: float) -> bool:
                return math.isfinite(f_t) and f_t <= f0 + self.armijo_c * t * slope

            f_t = f_new  # t = 1: already evaluated above
            accepted, shrinks = armijo(t, f_t), 0
            while not accepted and shrinks < self.max_shrinks:
                t *= self.shrink
                f_t = loss_at(t * d)
                accepted, shrinks = armijo(t, f_t), shrinks + 1
            if not accepted:
                t, f_t = 0.0, f0
            f_new = f_t
        elif not math.isfinite(f_new):
            t, f_new = 0.0, f0
        if t > 0:
            objective.set_params(theta + t * d)
        self._wall += time.perf_counter() - start
        self._cpu += time.process_time() - start_cpu
        self.log.append(IterationLog(k, f_new, f0, hist.iterations, hist.stop_reason, chosen, lam, rho, t, m, mc,
                                     self._passes, self._wall, self._cpu))
        return f_new
