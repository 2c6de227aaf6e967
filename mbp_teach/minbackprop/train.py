"""Training the outlier filter through ``five_point``, with each backward, and keeping score.

One step, for a fresh batch of B synthetic image pairs (N correspondences, 30-70 % outliers):

1. the filter gives logits l (B, N); K minimal sets of 5 are drawn from softmax(l)
   (``sampling.draw_minimal_sets``: Gumbel top-k, straight-through selection);
2. ``five_point`` solves each set with the chosen ``backward``: E (B, K, 10, 3, 3);
3. the error of set k is that of its solution nearest the truth,
   e_k = min_s (1 - <E_s, E_true>^2) over real solutions (1 if none): 0 for the true E;
4. the loss is the expected error over the sampling distribution, L = E_{S ~ p_l}[e(S)]. Its
   gradient has two terms, and ``gradient`` chooses which ones train the filter:

   * "score": the score-function (REINFORCE, Williams 1992; DSAC, Brachmann et al. 2017) estimate
     mean_k (e_k - mean e) d log p(set k) / d l. The score function is d log p(S) / d l, the
     gradient of the log-probability of the drawn set; weighted by how much worse than average
     the set did, it pushes probability away from sets that contain outliers. It is unbiased
     for dL/dl and never differentiates the solver: the solver's inputs are detached, so its
     backward is not called at all.
   * "pathwise": mean_k d e_k / d l through the solver (where the backward mode acts) and then
     through the straight-through selection (``sampling``). The straight-through step is not the
     derivative of anything the forward pass computed, so this term is a *biased* estimate.
   * "both" (the default, as in MinBackProp): the sum. The surrogate
     mean_k [e_k + (e_k - mean e).detach() log p_k] has exactly this gradient.

A run trains with a ``Method``: the solver's ``backward`` ("autograd", "ift", "ddn") and the
``null_space`` basis five_point computes ("qr" by default; "svd" and "gram_svd" give the
paper-style autograd baselines, see ``essential.null_space_basis``: the MinBackProp paper's
autograd baseline differentiates an SVD of the 9x9 Gram matrix, like ``Method("autograd", "gram_svd")``).

A run is *unstable* from the first step whose loss or any parameter gradient is not finite;
training stops there (as a crashed run would). Backward time is measured twice: the whole
``loss.backward()`` (wall and CPU time: with one thread, CPU time hardly changes when other jobs
share the machine), and the solver's share (from the moment the gradient reaches E to the
moment it leaves the solver's inputs, with tensor hooks).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import torch

from mbp_teach import data as mbp_data
from mbp_teach import validation as val
from mbp_teach.gradients.backward import check_mode
from mbp_teach.minbackprop.filter import OutlierFilter
from mbp_teach.minbackprop.pose import pose_auc
from mbp_teach.minbackprop.ransac import check_correspondences, evaluate, evaluate_budgets
from mbp_teach.minbackprop.sampling import draw_minimal_sets
from mbp_teach.solvers import five_point
from mbp_teach.solvers.essential import check_null_space


class Method(NamedTuple):
    """How gradients cross ``five_point``: its backward mode and the null-space basis it differentiates."""

    backward: str
    null_space: str = "qr"

    def check(self) -> Method:
        """Itself, once both names are known (ValueError naming the unknown one otherwise)."""
        check_mode(self.backward)
        check_null_space(self.null_space)
        return self

    @property
    def label(self) -> str:
        """"autograd" for the default basis, "autograd (gram svd null space)" for another."""
        if self.null_space == "qr":
            return self.backward
        return f"{self.backward} ({self.null_space.replace('_', ' ')} null space)"


# the MinBackProp table's rows: the three backward modes and the paper-style autograd baselines
METHODS = (Method("autograd"), Method("ift"), Method("ddn"), Method("autograd", "gram_svd"), Method("autograd", "svd"))


def as_method(method: Method | str) -> Method:
    """A checked Method; a plain string is a backward mode with the default null space."""
    if isinstance(method, str):
        method = Method(method)
    if not isinstance(method, Method):
        raise ValueError(f"method: expected a Method or a backward mode such as 'ift', got {method!r}")
    return method.check()


GRADIENTS = ("score", "pathwise", "both")  # which terms of the gradient train the filter (module docstring)


def check_gradient(gradient: str) -> str:
    """``gradient`` itself when it is one of GRADIENTS (ValueError otherwise)."""
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient: must be one of {GRADIENTS}, got {gradient!r}")
    return gradient


@dataclass
class Config:
    """Sizes of one experiment; the defaults are the notebook's small configuration."""

    n_points: int = 100  # correspondences per pair
    outliers: tuple[float, float] = (0.3, 0.7)  # outlier fraction, uniform per pair in this range
    noise: float = 1.0  # pixels
    batch: int = 4  # pairs per step
    n_sets: int = 16  # minimal sets per pair per step
    steps: int = 40
    lr: float = 3e-3
    width: int = 32
    blocks: int = 2
    tau: float = 1.0
    eval_pairs: int = 64
    eval_hypotheses: int = 16
    threshold_px: float = 2.0
    eval_seed: int = 10_000

    def validate(self) -> None:
        if not isinstance(self.n_points, int) or self.n_points < 8:
            raise ValueError(f"n_points: too few correspondences per pair, need at least 8 (5 for a minimal set "
                             f"and some to spare), got {self.n_points!r}")
        lo, hi = self.outliers
        val.check_range(lo, "outliers[0]", 0.0, 1.0)
        val.check_range(hi, "outliers[1]", lo, 1.0)
        if round((1.0 - hi) * self.n_points) < 5:
            raise ValueError(f"outliers: up to {hi:.0%} outliers of {self.n_points} correspondences leaves fewer than "
                             "5 inliers: no minimal set is all-inlier, nothing to learn (all-outlier data)")
        for name in ("batch", "n_sets", "steps", "width", "eval_pairs", "eval_hypotheses"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: need a positive integer, got {v!r}")
        val.check_positive(self.noise, "noise", allow_zero=True)
        val.check_positive(self.lr, "lr")
        val.check_positive(self.tau, "tau")
        val.check_positive(self.threshold_px, "threshold_px")


@dataclass
class Run:
    """One training run: per-step history, stability, timings and final accuracy."""

    backward: str
    seed: int
    null_space: str = "qr"
    gradient: str = "both"  # which gradient terms trained it: "score", "pathwise" or "both"
    loss: list[float] = field(default_factory=list)
    backward_seconds: list[float] = field(default_factory=list)  # whole loss.backward(), wall time
    backward_cpu_seconds: list[float] = field(default_factory=list)  # the same, this process's CPU time
    solver_seconds: list[float] = field(default_factory=list)  # the solver's share of it
    failed_at: int | None = None
    failure: str = ""
    warnings: int = 0  # warnings raised during backward (e.g. an ill-conditioned IFT Jacobian)
    flagged: int = 0  # minimal problems whose IFT Jacobian was flagged (their gradient is set to zero)
    errors: dict[str, list[float]] = field(default_factory=dict)  # per eval pair, degrees

    @property
    def stable(self) -> bool:
        return self.failed_at is None

    @property
    def method(self) -> Method:
        return Method(self.backward, self.null_space)


def scene_batch(config: Config, batch: int, generator) -> mbp_data.TwoView:
    return mbp_data.two_view(config.n_points, (batch,), noise=config.noise, outlier_fraction=config.outliers,
                             seed=generator)


def _slice(scene: mbp_data.TwoView, rows: slice) -> mbp_data.TwoView:
    """Pairs ``rows`` of a batched TwoView (K and image_size are shared)."""
    fields = {k: (v[rows] if k not in ("K", "image_size") else v) for k, v in vars(scene).items()}
    return mbp_data.TwoView(**fields)


def essential_error(E: torch.Tensor, valid: torch.Tensor, E_true: torch.Tensor) -> torch.Tensor:
    """e = min over real solutions of 1 - <E_s, E_true/|E_true|>^2; E (B, K, 10, 3, 3) -> (B, K).

    Invalid entries (E = 0 there) count as 1, the error of a matrix orthogonal to the truth.
    """
    Et = E_true / torch.linalg.matrix_norm(E_true)[..., None, None]
    err = 1.0 - (E * Et[:, None, None]).sum((-1, -2)) ** 2
    err = torch.where(valid, err, torch.ones_like(err))
    return err.min(-1).values


class _SolverClock:
    """Times the solver's part of a backward pass with hooks on its output and inputs."""

    def __init__(self):
        self.start = None
        self.end = None

    def output(self, grad):
        self.start = time.perf_counter()
        return grad

    def input(self, grad):
        self.end = time.perf_counter()
        return grad

    @property
    def seconds(self) -> float:
        return (self.end - self.start) if (self.start is not None and self.end is not None) else float("nan")


def step_loss(net: OutlierFilter, scene: mbp_data.TwoView, config: Config, method: Method,
              generator: torch.Generator, clock: _SolverClock | None = None,
              gradient: str = "both") -> tuple[torch.Tensor, torch.Tensor]:
    """(surrogate loss, mean error e) for one batch; ``gradient`` as in the module docstring."""
    check_gradient(gradient)
    logits = net(scene.x1, scene.x2)
    sets = draw_minimal_sets(logits, config.n_sets, tau=config.tau, generator=generator)
    s1, s2 = sets.gather(scene.x1), sets.gather(scene.x2)
    if gradient == "score":  # no path into the solver: its backward is never called
        s1, s2 = s1.detach(), s2.detach()
    # null_space only when not the default, so a stand-in five_point(x1, x2, backward) still fits
    extra: dict[str, Any] = {"null_space": method.null_space} if method.null_space != "qr" else {}
    E, valid = five_point(s1, s2, backward=method.backward, **extra)
    if clock is not None and E.requires_grad:
        E.register_hook(clock.output)
        s1.register_hook(clock.input)  # s1's gradient is the last one the solver produces
    err = essential_error(E, valid, scene.E)  # (B, K)
    advantage = (err - err.mean(-1, keepdim=True)).detach()
    score = advantage * sets.log_prob if gradient != "pathwise" else torch.zeros_like(err)
    surrogate = (err + score).mean()
    return surrogate, err.mean().detach()


def train(config: Config, backward: str = "ift", seed: int = 0, *, null_space: str = "qr", gradient: str = "both",
          progress: Callable[[], None] | None = None, evaluate_after: bool = True) -> tuple[Run, OutlierFilter]:
    """Train a fresh filter (initialised from ``seed``) for ``config.steps`` steps, differentiating
    ``five_point`` with ``backward`` through the ``null_space`` basis, with the gradient terms
    ``gradient`` ("score", "pathwise" or "both"; see the module docstring).

    Every gradient choice sees the same data and the same minimal-set draws for a seed."""
    config.validate()
    method = Method(backward, null_space).check()
    check_gradient(gradient)
    torch.manual_seed(seed)
    net = OutlierFilter(config.width, config.blocks).double()
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    # All training pairs in one call (per-call overhead dominates small batches); the same seed
    # gives every backward the same data and the same minimal-set draws.
    pool = scene_batch(config, config.batch * config.steps, torch.Generator().manual_seed(seed))
    sample_gen = torch.Generator().manual_seed(seed + 7919)
    run = Run(backward, seed, null_space, gradient)
    for k in range(config.steps):
        scene = _slice(pool, slice(k * config.batch, (k + 1) * config.batch))
        clock = _SolverClock()
        loss, err = step_loss(net, scene, config, method, sample_gen, clock, gradient)
        run.loss.append(float(err))
        opt.zero_grad()
        start, cpu_start = time.perf_counter(), time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if loss.requires_grad:  # else no term reaches the weights (a solver without a gradient, pathwise only)
                loss.backward()
        run.backward_seconds.append(time.perf_counter() - start)
        run.backward_cpu_seconds.append(time.process_time() - cpu_start)
        run.solver_seconds.append(clock.seconds)
        # torch.func may emit DeprecationWarnings; only runtime warnings (an ill-conditioned
        # Jacobian flagged by the IFT or DDN backward) say something about this step.
        caught = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        run.warnings += len(caught)
        run.flagged += sum(len(getattr(w.message, "items", ())) for w in caught)
        finite_grad = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in net.parameters())
        if progress is not None:
            progress()
        if not (torch.isfinite(loss) and finite_grad):
            run.failed_at = k
            run.failure = "non-finite loss" if not torch.isfinite(loss) else "non-finite gradient"
            break
        opt.step()
    if evaluate_after and run.stable:
        run.errors = evaluate_filter(net, config)
    return run, net


def first_step_gradient(config: Config, gradient: str, backward: Method | str = "ift", seed: int = 0) -> torch.Tensor:
    """The flattened parameter gradient of ``train``'s first step (same network, pairs and draws as
    ``train(config, backward, seed, gradient=gradient)``) with the terms ``gradient``."""
    config.validate()
    method = as_method(backward)
    torch.manual_seed(seed)
    net = OutlierFilter(config.width, config.blocks).double()
    scene = scene_batch(config, config.batch, torch.Generator().manual_seed(seed))
    loss, _ = step_loss(net, scene, config, method, torch.Generator().manual_seed(seed + 7919), gradient=gradient)
    params = list(net.parameters())
    if not loss.requires_grad:
        return torch.zeros(sum(p.numel() for p in params), dtype=torch.float64)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params, strict=True)])


def eval_scenes(config: Config) -> mbp_data.TwoView:
    """The fixed evaluation pairs (the same for every run and the baseline)."""
    return scene_batch(config, config.eval_pairs, torch.Generator().manual_seed(config.eval_seed))


def evaluate_filter(net: OutlierFilter | None, config: Config) -> dict[str, list[float]]:
    """Pose errors (degrees) on the evaluation pairs; ``net=None`` is the uniform-sampling baseline."""
    scene = eval_scenes(config)
    check_correspondences(scene.x1, scene.x2)
    with torch.no_grad():
        logits = None if net is None else net(scene.x1, scene.x2)
    errs = evaluate(scene, logits, n_hypotheses=config.eval_hypotheses, threshold_px=config.threshold_px,
                    seed=config.eval_seed + 1)
    return {k: v.tolist() for k, v in errs.items()}


def summarise(errors: dict[str, list[float]]) -> dict[str, float]:
    """Median rotation / translation error and AUC@5/10/20 of the pose error (max of the two)."""
    r = torch.tensor(errors["rotation"])
    t = torch.tensor(errors["translation"])
    auc = pose_auc(torch.tensor(errors["pose"]), (5.0, 10.0, 20.0))
    return {"rotation_median": float(r.median()), "translation_median": float(t.median()),
            "auc5": auc[0], "auc10": auc[1], "auc20": auc[2]}


def compare(config: Config, methods: Iterable[Method | str] = METHODS, seeds: Iterable[int] = (0, 1, 2),
            *, progress: Callable[[], None] | None = None) -> dict:
    """Train every (method, seed) pair and evaluate; also the untrained baseline. Plain dicts out.

    A method given as a string is a backward mode with the default null space.
    """
    config.validate()
    checked = [as_method(m) for m in methods]
    seeds = list(seeds)
    # One intra-op thread: these tensors are small, so a second thread costs more in hand-over
    # than it saves (2-3x slower on a busy 2-core machine), and a fixed thread count keeps the
    # floating-point reductions, hence the results, identical from machine to machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runs = [train(config, m.backward, s, null_space=m.null_space, progress=progress)[0]
                for m in checked for s in seeds]
        baseline = evaluate_filter(None, config)
    finally:
        torch.set_num_threads(threads)
    return {"config": asdict(config), "runs": [asdict(r) for r in runs],
            "baseline": baseline}


BUDGETS = (1, 2, 4, 8, 16, 32, 64, 128)  # RANSAC hypotheses (minimal sets) per pair for the budget curve


def evaluate_filter_budgets(net: OutlierFilter | None, config: Config, budgets=BUDGETS) -> dict[int, list[float]]:
    """Pose errors (degrees, max of rotation and translation) on the evaluation pairs for each budget;
    ``net=None`` is uniform sampling. The budget ``config.eval_hypotheses`` gives ``evaluate_filter``'s."""
    scene = eval_scenes(config)
    with torch.no_grad():
        logits = None if net is None else net(scene.x1, scene.x2)
    errs = evaluate_budgets(scene, logits, budgets, threshold_px=config.threshold_px, seed=config.eval_seed + 1)
    return {h: e.tolist() for h, e in errs.items()}


def ablation(config: Config, seeds: Iterable[int] = range(5), *, backward: str = "ift",
             gradients: Iterable[str] = GRADIENTS, budgets=BUDGETS,
             progress: Callable[[], None] | None = None) -> dict:
    """Train one filter per (gradient, seed) with ``backward``; evaluate each at every RANSAC budget.

    Plain dicts out: ``runs`` (``Run`` fields, and ``budget_errors``: budget -> pose errors),
    ``baseline`` and ``baseline_budgets`` (uniform sampling). A seed gives every gradient choice the
    same initial network, training pairs and minimal-set draws, so the runs differ only in the gradient.
    """
    config.validate()
    gradients = [check_gradient(g) for g in gradients]
    as_method(backward)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in compare
    try:
        runs = []
        for g in gradients:
            for s in seeds:
                run, net = train(config, backward, s, gradient=g, progress=progress)
                row = asdict(run)
                row["budget_errors"] = evaluate_filter_budgets(net, config, budgets) if run.stable else {}
                runs.append(row)
        baseline = evaluate_filter(None, config)
        baseline_budgets = evaluate_filter_budgets(None, config, budgets)
    finally:
        torch.set_num_threads(threads)
    return {"config": asdict(config), "backward": backward, "budgets": sorted(set(budgets)), "runs": runs,
            "baseline": baseline, "baseline_budgets": baseline_budgets}
