"""``HessianFree``: Martens' (2010) truncated-Newton optimiser as a ``torch.optim.Optimizer``,
with the two accelerations of Sainath et al. (2013): an implicit L-BFGS preconditioner and
geometrically growing samples.

One iteration k (``step(objective)``), one method each:

1. ``_samples``: a gradient sample S_k of |S_k| = min(N, ceil(N f_0 a^k)) examples (f_0 = ``Sampling.start``,
   a = ``Sampling.growth``) and a curvature sample, the first ``Sampling.curvature_fraction`` of S_k;
2. ``_solve``: gradient g and loss f on S_k; CG on (G + lambda I) d = -g (products on the curvature sample),
   i.e. CG minimises the quadratic model phi(d) = 1/2 d^T (G + lambda I) d + g^T d; warm-started from
   ``Solve.warm_start`` x the previous solution, stopped by Martens' relative-progress rule or ``Solve.max_cg``,
   keeping iterates at i = ceil(5 * 1.3^j);
3. ``_backtrack``: from the last kept iterate, step back while the loss on S_k improves;
4. ``_update_damping``: rho = (f(theta + d) - f(theta)) / phi(d);
   rho < 1/4 -> lambda = max(3/2 lambda, ``Damping.floor``), rho > 3/4 -> lambda = max(2/3 lambda, ``Damping.minimum``)
   (Levenberg-Marquardt; Nocedal & Wright ch. 10). The floor matters when lambda is 0 or tiny: a purely
   multiplicative rule would keep lambda = 0 for ever, however bad the model;
5. ``_line_search``: Armijo on theta + t d: t = 1, 0.8, 0.8^2, ..., 0.8^``max_shrinks`` until
   f(theta + t d) <= f(theta) + c t g^T d (c = 1e-2; Nocedal & Wright ch. 3); every loss evaluated is tested
   (and counted); no acceptable t -> no step;
6. ``_record``: one :class:`IterationLog`.

Settings come in five small groups (frozen dataclasses, each validated when built): :class:`Damping`,
:class:`Solve`, :class:`LineSearch`, :class:`Sampling`, :class:`Preconditioning`. ``from_keywords`` turns
the flat keywords of ``compare.run_hf`` (``damping=``, ``max_cg=``, ``sample_start=``, ...) into them.

Cost accounting in gradient-equivalent passes over the N training examples, by the usual
FLOP ratio (a forward pass ~ 1/3 of a gradient, a backward pass ~ 2/3): a gradient on m examples
counts m/N, a loss m/(3N), a Gauss-Newton product (forward with tangents + backward) 4m/(3N).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields

import torch

from mbp_teach.hf import precond as pc
from mbp_teach.hf.conjugate_gradient import CGHistory, backtrack_grid, cg
from mbp_teach.hf.curvature import ModuleObjective
from mbp_teach.validation import check_positive, check_range

FORWARD, GRADIENT, CURVATURE = 1.0 / 3.0, 1.0, 4.0 / 3.0
RHO_LOW, RHO_HIGH = 0.25, 0.75  # the Levenberg-Marquardt thresholds on rho
RAISE, LOWER = 1.5, 2.0 / 3.0  # Martens' (2010) factors: lambda * 3/2 after a poor step, * 2/3 after a good one


# ---- settings ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Damping:
    """lambda of (G + lambda I): ``initial`` lambda_0 (0 allowed); the rho rule never lowers it below ``minimum``
    and, when it raises it, raises it to at least ``floor`` (> 0), so a run started at (or decayed to)
    lambda ~ 0 can still recover from a bad model."""

    initial: float = 1.0
    minimum: float = 0.0
    floor: float = 1e-6

    def __post_init__(self):
        check_positive(self.initial, "damping", allow_zero=True)
        check_positive(self.minimum, "min_damping", allow_zero=True)
        check_positive(self.floor, "damping_floor")


@dataclass(frozen=True)
class Solve:
    """The CG solve: at most ``max_cg`` iterations, warm start ``warm_start`` x previous solution (0: cold),
    Martens' stopping rule on/off, backtracking over kept iterates on/off, ``curvature`` "gn" or "hessian"."""

    max_cg: int = 250
    warm_start: float = 0.95
    martens_stop: bool = True
    backtrack: bool = True
    curvature: str = "gn"

    def __post_init__(self):
        if not isinstance(self.max_cg, int) or isinstance(self.max_cg, bool) or self.max_cg < 1:
            raise ValueError(f"max_cg: need an integer >= 1, got {self.max_cg!r}")
        check_range(self.warm_start, "warm_start", 0.0, 1.0)
        if self.curvature not in ("gn", "hessian"):
            raise ValueError(f"curvature: expected 'gn' (Gauss-Newton) or 'hessian', got {self.curvature!r}")


@dataclass(frozen=True)
class LineSearch:
    """Armijo backtracking along the chosen CG direction: sufficient decrease ``armijo_c``, factor ``shrink``,
    at most ``max_shrinks`` shrinks; ``enabled=False`` takes t = 1 (unless the loss there is not finite)."""

    enabled: bool = True
    armijo_c: float = 1e-2
    shrink: float = 0.8
    max_shrinks: int = 40

    def __post_init__(self):
        check_range(self.armijo_c, "armijo_c", 0.0, 1.0, closed="neither")
        check_range(self.shrink, "shrink", 0.0, 1.0, closed="neither")
        if not isinstance(self.max_shrinks, int) or isinstance(self.max_shrinks, bool) or self.max_shrinks < 0:
            raise ValueError(f"max_shrinks: need a non-negative integer, got {self.max_shrinks!r}")


@dataclass(frozen=True)
class Sampling:
    """Growing samples (Sainath et al. 2013): |S_k| = min(N, ceil(N start growth^k)); the curvature sample is the
    first ``curvature_fraction`` of S_k; ``seed`` seeds the sample draws."""

    start: float = 1.0
    growth: float = 1.0
    curvature_fraction: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_range(self.start, "sample_start", 0.0, 1.0, closed="right")
        check_positive(self.growth, "sample_growth")
        if self.growth < 1:
            raise ValueError(f"sample_growth: the sample must not shrink, need a >= 1, got {self.growth}")
        check_range(self.curvature_fraction, "curvature_fraction", 0.0, 1.0, closed="right")

    def size(self, k: int, n: int) -> int:
        """|S_k| = min(N, ceil(N f_0 a^k))."""
        return min(n, math.ceil(n * self.start * self.growth**k - 1e-9))


@dataclass(frozen=True)
class Preconditioning:
    """``kind`` "none", "diagonal" (Martens) or "lbfgs" (Sainath et al.) with ``memory`` pairs, their
    ``selection`` and whether pairs are added ``during_solve``; ``flexible`` (Polak-Ribiere beta) defaults to
    ``during_solve``, because a preconditioner that changes inside a solve needs it."""

    kind: str = "none"
    memory: int = 20
    selection: str = "last"
    during_solve: bool = False
    flexible: bool | None = None

    def build(self) -> pc.Identity:
        extra = dict(selection=self.selection, during_solve=self.during_solve) if self.kind == "lbfgs" else {}
        return pc.make(self.kind, self.memory, **extra)

    @property
    def flexible_cg(self) -> bool:
        return self.during_solve if self.flexible is None else self.flexible


# flat keyword (compare.run_hf, notebook 07) -> (group, field)
_FLAT = {
    "damping": ("damping", "initial"), "min_damping": ("damping", "minimum"), "damping_floor": ("damping", "floor"),
    "max_cg": ("solve", "max_cg"), "warm_start": ("solve", "warm_start"), "martens_stop": ("solve", "martens_stop"),
    "backtrack": ("solve", "backtrack"), "curvature": ("solve", "curvature"),
    "line_search": ("line_search", "enabled"), "armijo_c": ("line_search", "armijo_c"),
    "shrink": ("line_search", "shrink"), "max_shrinks": ("line_search", "max_shrinks"),
    "sample_start": ("sampling", "start"), "sample_growth": ("sampling", "growth"),
    "curvature_fraction": ("sampling", "curvature_fraction"), "seed": ("sampling", "seed"),
    "preconditioner": ("preconditioning", "kind"), "memory": ("preconditioning", "memory"),
    "selection": ("preconditioning", "selection"), "during_solve": ("preconditioning", "during_solve"),
    "flexible": ("preconditioning", "flexible"),
}
_GROUPS = {"damping": Damping, "solve": Solve, "line_search": LineSearch, "sampling": Sampling,
           "preconditioning": Preconditioning}


def from_keywords(**flat) -> dict:
    """The settings groups for flat keywords, e.g. ``from_keywords(damping=1e-2, max_cg=40, preconditioner="lbfgs")``
    -> ``dict(damping=Damping(1e-2), solve=Solve(max_cg=40), preconditioning=Preconditioning("lbfgs"))``
    (only the groups named). An unknown keyword raises ``ValueError``."""
    unknown = sorted(set(flat) - set(_FLAT))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: unknown HF setting(s); known: {', '.join(_FLAT)}")
    parts: dict[str, dict] = {}
    for key, value in flat.items():
        group, name = _FLAT[key]
        parts.setdefault(group, {})[name] = value
    return {group: _GROUPS[group](**values) for group, values in parts.items()}


def _as_group(value, cls):
    if not isinstance(value, cls):
        raise ValueError(f"{cls.__name__.lower()}: expected a {cls.__name__}(...), got {type(value).__name__}; "
                         f"fields: {', '.join(f.name for f in fields(cls))}")
    return value


# ---- pieces of one iteration that a learner can call on their own --------------------------------------------


def reduction_ratio(f_new: float, f0: float, phi: float) -> float:
    """rho = (f(theta + d) - f(theta)) / phi(d): actual over predicted reduction (-inf if phi >= 0 or f_new not finite)."""
    if not (phi < 0 and math.isfinite(f_new)):
        return -math.inf
    return (f_new - f0) / phi


def levenberg_marquardt(lam: float, rho: float, damping: Damping) -> float:
    """The next lambda: 3/2 lambda (at least ``floor``) if rho < 1/4, 2/3 lambda (at least ``minimum``) if rho > 3/4."""
    if rho < RHO_LOW:
        return max(lam * RAISE, damping.floor)
    if rho > RHO_HIGH:
        return max(lam * LOWER, damping.minimum)
    return lam


def armijo_holds(f_t: float, f0: float, t: float, slope: float, c: float) -> bool:
    """f(theta + t d) <= f(theta) + c t g^T d (and finite)."""
    return math.isfinite(f_t) and f_t <= f0 + c * t * slope


# ---- the optimiser ---------------------------------------------------------------------------------------------


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


@dataclass
class _Batch:
    idx: torch.Tensor | None  # gradient sample (None: all examples)
    cidx: torch.Tensor | None  # curvature sample
    m: int
    mc: int
    frac: float  # m / N
    cfrac: float  # mc / N


class HessianFree(torch.optim.Optimizer):
    """Hessian-free (truncated Gauss-Newton) optimiser; ``step(objective)`` runs one HF iteration.

    ``HessianFree(params, damping=Damping(1.0), solve=Solve(max_cg=250), line_search=LineSearch(),
    sampling=Sampling(), preconditioning=Preconditioning())``: every group is optional.
    ``objective`` is a :class:`~mbp_teach.hf.curvature.ModuleObjective` whose model owns ``params``.
    ``log`` holds one :class:`IterationLog` per iteration; ``damping`` is the current lambda and ``previous``
    the last CG solution (the next solve starts from ``warm_start`` x it). The groups are kept as ``damping_rule``,
    ``solve``, ``search``, ``sampling`` and ``preconditioning``.
    A loss or gradient that is NaN or infinite at the current parameters raises ``ValueError``.
    """

    def __init__(self, params, *, damping: Damping = Damping(), solve: Solve = Solve(),
                 line_search: LineSearch = LineSearch(), sampling: Sampling = Sampling(),
                 preconditioning: Preconditioning = Preconditioning()):
        self.damping_rule = _as_group(damping, Damping)
        self.solve = _as_group(solve, Solve)
        self.search = _as_group(line_search, LineSearch)
        self.sampling = _as_group(sampling, Sampling)
        self.preconditioning = _as_group(preconditioning, Preconditioning)
        self.preconditioner = self.preconditioning.build()
        super().__init__(params, dict(damping=damping.initial))
        self.damping = float(damping.initial)
        self.generator = torch.Generator().manual_seed(sampling.seed)
        self.grid = backtrack_grid(solve.max_cg)
        self.log: list[IterationLog] = []
        self.previous: torch.Tensor | None = None
        self._passes = 0.0
        self._wall = 0.0
        self._cpu = 0.0

    def _check(self, objective: ModuleObjective) -> None:
        mine = [p for g in self.param_groups for p in g["params"]]
        theirs = list(objective.model.parameters())
        if len(mine) != len(theirs) or any(a is not b for a, b in zip(mine, theirs, strict=True)):
            raise ValueError("objective: its model's parameters are not the ones this optimiser was given")

    @torch.no_grad()
    def step(self, objective: ModuleObjective) -> float:  # type: ignore[override]  # HF needs an objective, not a closure
        """One HF iteration on ``objective``; returns the loss on this iteration's sample after the step."""
        self._check(objective)
        start, start_cpu = time.perf_counter(), time.process_time()
        batch = self._samples(len(self.log), objective.n)  # 1
        lam, theta = self.damping, objective.get_params()
        f0, g, hist = self._solve(objective, theta, batch, lam)  # 2

        def loss_at(d: torch.Tensor) -> float:
            self._passes += FORWARD * batch.frac
            return objective.loss(theta + d, batch.idx)

        chosen, f_new = self._backtrack(hist, loss_at)  # 3
        d = hist.kept[chosen]
        rho = reduction_ratio(f_new, f0, hist.phi[chosen])
        self.damping = levenberg_marquardt(lam, rho, self.damping_rule)  # 4
        t, f_new = self._line_search(f0, float(g @ d), d, f_new, loss_at)  # 5
        if t > 0:
            objective.set_params(theta + t * d)
        self._wall += time.perf_counter() - start
        self._cpu += time.process_time() - start_cpu
        self.log.append(IterationLog(len(self.log), f_new, f0, hist.iterations, hist.stop_reason, chosen, lam, rho,
                                     t, batch.m, batch.mc, self._passes, self._wall, self._cpu))  # 6
        return f_new

    # 1. samples
    def _samples(self, k: int, n: int) -> _Batch:
        m = self.sampling.size(k, n)
        idx = None if m >= n else torch.randperm(n, generator=self.generator)[:m]
        mc = max(1, math.ceil(self.sampling.curvature_fraction * m - 1e-9))
        if mc >= m:
            cidx = idx
        else:  # the curvature sample is a prefix of the gradient sample
            cidx = idx[:mc] if idx is not None else torch.randperm(n, generator=self.generator)[:mc]
        return _Batch(idx, cidx, m, mc, m / n, mc / n)

    # 2. gradient and the CG solve of (G + lambda I) d = -g
    def _solve(self, objective: ModuleObjective, theta: torch.Tensor, batch: _Batch,
               lam: float) -> tuple[float, torch.Tensor, CGHistory]:
        with torch.enable_grad():
            f0, g = objective.loss_and_grad(theta, batch.idx)
            if not (math.isfinite(f0) and bool(torch.isfinite(g).all())):
                raise ValueError(f"objective: the loss ({f0}) or its gradient is NaN or infinite at the current "
                                 "parameters; HF cannot take a step from here")
            product = (objective.gauss_newton if self.solve.curvature == "gn" else objective.hessian)(theta, batch.cidx)
        self._passes += GRADIENT * batch.frac

        def matvec(v: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                out = product(v)
            self._passes += CURVATURE * batch.cfrac
            return out + lam * v

        if isinstance(self.preconditioner, pc.MartensDiagonal):
            with torch.enable_grad():
                self.preconditioner.prepare(squared_gradients=objective.squared_gradient_sum(theta, batch.cidx),
                                            damping=lam)
            self._passes += GRADIENT * batch.cfrac
        x0 = None
        if self.previous is not None and self.solve.warm_start > 0:
            x0 = self.solve.warm_start * self.previous
        d_final, hist = cg(matvec, -g, x0=x0, M=self.preconditioner, flexible=self.preconditioning.flexible_cg,
                           max_iters=self.solve.max_cg, rtol=1e-10, martens=self.solve.martens_stop, keep=self.grid,
                           on_pair=self.preconditioner.add_pair)
        self.preconditioner.end_solve()
        self.previous = d_final
        return f0, g, hist

    # 3. CG backtracking over the kept iterates, newest first, while the loss keeps improving
    def _backtrack(self, hist: CGHistory, loss_at) -> tuple[int, float]:
        its = sorted(hist.kept)
        chosen = its[-1]
        f_new = loss_at(hist.kept[chosen])
        if not self.solve.backtrack:
            return chosen, f_new
        for i in reversed(its[:-1]):
            if i == 0:  # the warm start itself is not a candidate
                break
            f_i = loss_at(hist.kept[i])
            if not f_i < f_new:
                break
            chosen, f_new = i, f_i
        return chosen, f_new

    # 5. Armijo line search on theta + t d (f_new: the loss at t = 1, already evaluated)
    def _line_search(self, f0: float, slope: float, d: torch.Tensor, f_new: float, loss_at) -> tuple[float, float]:
        s = self.search
        if not s.enabled:
            return (1.0, f_new) if math.isfinite(f_new) else (0.0, f0)
        t, f_t, shrinks = 1.0, f_new, 0
        accepted = armijo_holds(f_t, f0, t, slope, s.armijo_c)
        while not accepted and shrinks < s.max_shrinks:
            t *= s.shrink
            f_t = loss_at(t * d)
            accepted, shrinks = armijo_holds(f_t, f0, t, slope, s.armijo_c), shrinks + 1
        return (t, f_t) if accepted else (0.0, f0)
