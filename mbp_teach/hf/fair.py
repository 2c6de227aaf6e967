"""Equal-budget comparisons: HF, SGD with momentum, Adam and L-BFGS stopped at the same cost.

Cost is counted two ways, both recorded after every iteration (epoch for SGD and Adam):

* gradient-equivalent passes over the N training examples, with HessianFree's accounting (a forward
  pass ~ 1/3 of a gradient, a backward pass ~ 2/3): a gradient on m examples costs m/N, a loss m/(3N),
  a Gauss-Newton product 4m/(3N); each evaluation of torch.optim.LBFGS's closure (loss and gradient on
  all N) costs 1;
* CPU seconds of this process spent inside the optimiser (``time.process_time``), never counting the
  full-training-loss evaluation that records the curve. CPU time is less disturbed than wall time by
  other jobs on a shared machine, but it still depends on the machine.

A run stops at the first record whose passes reach ``Budget.passes`` (or whose CPU seconds reach
``Budget.cpu``, if set). ``loss_at(run, "passes", b)`` reads a curve at a budget: the loss of the last
record at or below it (what the method had achieved when the budget ran out). Every run starts with a
record at cost 0: the common starting loss.

``sweep`` runs one method with several settings (learning rates; for HF the initial damping) over seeds
and picks the setting with the lowest median training loss at the budget.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mbp_teach.hf.compare import Run, _first_order_optimizer, epoch, run_hf
from mbp_teach.hf.curvature import ModuleObjective
from mbp_teach.validation import check_positive

METHODS = ("HF", "SGD + momentum", "Adam", "L-BFGS")
COSTS = ("passes", "cpu")


@dataclass(frozen=True)
class Budget:
    """Stop after ``passes`` gradient-equivalent passes, or ``cpu`` CPU seconds if given, whichever is first."""

    passes: float
    cpu: float | None = None

    def __post_init__(self) -> None:
        check_positive(self.passes, "passes")
        if self.cpu is not None:
            check_positive(self.cpu, "cpu")

    def spent(self, passes: float, cpu: float) -> bool:
        return passes >= self.passes or (self.cpu is not None and cpu >= self.cpu)


def _start(run: Run, initial_loss: float) -> Run:
    """Put the common starting point (cost 0, the loss at the initial weights) in front of a run's records."""
    run.loss.insert(0, initial_loss)
    for series in (run.wall, run.cpu, run.passes):
        series.insert(0, 0.0)
    return run


class _Reached(Exception):
    def __init__(self, run: Run):
        super().__init__("budget reached")
        self.run = run


class _StopAtBudget:
    """Passed to ``run_hf`` as its progress bar: after each HF iteration it looks at the run so far and
    ends the loop once the budget is spent. run_hf has no budget option; its progress hook is called
    right after each iteration is recorded, and the record list is its local ``run``."""

    def __init__(self, budget: Budget, bar=None):
        self.budget, self.bar = budget, bar

    def update(self, n: int = 1) -> None:
        run = sys._getframe(1).f_locals.get("run")  # run_hf's record of this run
        if not isinstance(run, Run):
            raise RuntimeError("run_hf no longer keeps its records in a local named 'run'; stop it another way")
        if self.bar is not None:
            self.bar.update(n)
        if self.budget.spent(run.passes[-1], run.cpu[-1]):
            raise _Reached(run)


def hf_at_budget(objective: ModuleObjective, budget: Budget, name: str = "HF", max_iters: int = 10_000,
                 bar=None, **settings) -> Run:
    """HF (``compare.run_hf`` with ``settings``: damping, max_cg, warm_start, ...) until ``budget`` is spent."""
    initial = objective.loss(objective.get_params())
    try:
        run = run_hf(name, objective, None, max_iters, progress=_StopAtBudget(budget, bar), **settings)
    except _Reached as stop:
        run = stop.run
    return _start(run, initial)


def first_order_at_budget(objective: ModuleObjective, kind: str, lr: float, budget: Budget, batch: int = 100,
                          seed: int = 0, name: str | None = None, bar=None) -> Run:
    """SGD with momentum 0.9 or Adam on shuffled mini-batches of ``batch`` (a record per epoch = 1 pass),
    or torch.optim.LBFGS on the full batch (strong-Wolfe line search, memory 20; a record every 5
    iterations, one pass per closure evaluation), until ``budget`` is spent."""
    check_positive(lr, "lr")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch: need a positive integer, got {batch!r}")
    params = list(objective.model.parameters())
    # torch's L-BFGS with 5 iterations per step() (its memory persists across steps): a record every 5
    # iterations, finer than compare's 20, so that the curve can be read at a budget
    opt = (torch.optim.LBFGS(params, lr=lr, max_iter=5, history_size=20, line_search_fn="strong_wolfe")
           if kind == "lbfgs" else _first_order_optimizer(kind, params, lr))
    model, x, t = objective.model, objective.inputs, objective.targets
    g = torch.Generator().manual_seed(seed)
    run = _start(Run(name or kind), objective.loss(objective.get_params()))
    passes, wall, cpu = 0.0, 0.0, 0.0
    calls = 0

    def closure() -> torch.Tensor:
        nonlocal calls
        calls += 1
        opt.zero_grad()
        value = objective.loss_fn(model(x), t)
        value.backward()
        return value

    while not budget.spent(passes, cpu):
        start, start_cpu = time.perf_counter(), time.process_time()
        epoch(kind, opt, closure, objective, batch, g)
        passes = float(calls) if kind == "lbfgs" else passes + 1.0
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        value = objective.loss(objective.get_params())
        run.loss.append(value if np.isfinite(value) else float("inf"))
        run.wall.append(wall)
        run.cpu.append(cpu)
        run.passes.append(passes)
        if bar is not None:
            bar.update(1)
        if not np.isfinite(value):  # diverged: the curve ends here (a too-large learning rate)
            break
    return run


def loss_at(run: Run | dict, cost: str, budget: float) -> float:
    """The training loss a run had when ``budget`` of ``cost`` ("passes" or "cpu") was spent: the last record
    at or below it. A run that diverged before the budget counts as inf; one that stopped short of it (its
    budget was smaller) raises ValueError."""
    if cost not in COSTS:
        raise ValueError(f"cost: expected one of {COSTS}, got {cost!r}")
    spent = np.asarray(run[cost] if isinstance(run, dict) else getattr(run, cost))
    loss = np.asarray(run["loss"] if isinstance(run, dict) else run.loss)
    if spent[-1] < budget and not np.isclose(spent[-1], budget):
        if not np.isfinite(loss[-1]):
            return float("inf")  # diverged (its last record is inf) before the budget ran out
        raise ValueError(f"budget: this run stopped at {spent[-1]:.4g} {cost}, before {budget:.4g}")
    return float(loss[np.searchsorted(spent, budget, "right") - 1])


@dataclass
class Sweep:
    """One method on one problem: every setting's runs over seeds, and the setting chosen."""

    method: str
    settings: list[dict]
    runs: list[list[Run]]  # runs[setting][seed]
    chosen: int  # index of the setting with the lowest median loss at the pass budget
    extras: list[list[dict]]  # extras[setting][seed]: what ``evaluate`` returned after that run

    def finals(self, budget: float) -> np.ndarray:
        """(settings, seeds) training loss at ``budget`` passes."""
        return np.array([[loss_at(r, "passes", budget) for r in rs] for rs in self.runs])


def sweep(method: str, make_objective: Callable[[int], ModuleObjective], settings: Sequence[dict],
          seeds: Sequence[int], budget: Budget, bar=None,
          evaluate: Callable[[ModuleObjective, int], dict] | None = None) -> Sweep:
    """Run ``method`` (one of METHODS) once per setting and seed on ``make_objective(seed)`` (a fresh network
    initialised by that seed), each until ``budget``; choose the setting with the lowest median final loss.
    ``bar``: a progress bar, advanced by one per run.

    settings: for HF, keywords of ``run_hf`` (damping, max_cg, warm_start, ...); for the others {"lr": ...}.
    evaluate(objective, seed): called after each run on the trained network (e.g. a test error)."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if not settings or not seeds:
        raise ValueError("settings, seeds: need at least one of each")
    kind = {"SGD + momentum": "sgd", "Adam": "adam", "L-BFGS": "lbfgs"}.get(method)
    runs, extras = [], []
    for s in settings:
        row, extra = [], []
        for seed in seeds:
            obj = make_objective(seed)
            if kind is None:
                row.append(hf_at_budget(obj, budget, method, **s))
            else:
                row.append(first_order_at_budget(obj, kind, s["lr"], budget, seed=seed, name=method))
            extra.append(evaluate(obj, seed) if evaluate is not None else {})
            if bar is not None:
                bar.update(1)
        runs.append(row)
        extras.append(extra)
    out = Sweep(method, [dict(s) for s in settings], runs, 0, extras)
    medians = np.median(out.finals(budget.passes), axis=1)
    out.chosen = int(np.argmin(np.where(np.isfinite(medians), medians, np.inf)))
    return out


def run_record(run: Run) -> dict:
    """A run as plain lists for JSON (losses to 6 significant digits: what the figures and table need)."""
    return dict(loss=[float(f"{v:.6g}") for v in run.loss], passes=[round(p, 4) for p in run.passes],
                cpu=[round(c, 4) for c in run.cpu])


def first_below(run: Run | dict, level: float, cost: str = "passes") -> float:
    """The cost (``"passes"`` or ``"cpu"``) of the first record whose training loss is below ``level``
    (inf: never within the run). With ``level`` just under the plateau's loss it is when the run left it."""
    if cost not in COSTS:
        raise ValueError(f"cost: expected one of {COSTS}, got {cost!r}")
    spent = np.asarray(run[cost] if isinstance(run, dict) else getattr(run, cost))
    loss = np.asarray(run["loss"] if isinstance(run, dict) else run.loss)
    hit = np.flatnonzero(loss < level)
    return float(spent[hit[0]]) if hit.size else float("inf")
