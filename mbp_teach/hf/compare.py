"""Runs that compare optimisers on the CURVES-like autoencoder, with their costs.

Each run records, after every iteration, the loss on the *whole* training set (evaluated outside
the timed part), the cumulative wall time, gradient-equivalent passes (see ``optimizer``) and, for
HF, CG iterations. ``to_target`` reads off the cost of the first iteration at or below a target.
Used by notebooks 06 and 07 and by ``python -m mbp_teach.bench hf``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mbp_teach.hf.curvature import ModuleObjective, sum_squared_error
from mbp_teach.hf.curves import autoencoder, curve_images
from mbp_teach.hf.optimizer import HessianFree, from_keywords

VARIANTS: dict[str, dict] = {
    "HF": dict(),
    "HF + L-BFGS": dict(preconditioner="lbfgs", memory=20),
    "HF + L-BFGS + sampling": dict(preconditioner="lbfgs", memory=20, sample_start=0.3, sample_growth=1.2,
                                   curvature_fraction=0.5),
    # the ablation that tells the two ideas apart: sampling alone, same schedule
    "HF + sampling": dict(sample_start=0.3, sample_growth=1.2, curvature_fraction=0.5),
}


@dataclass
class Run:
    name: str
    loss: list[float] = field(default_factory=list)  # full training loss after each iteration
    wall: list[float] = field(default_factory=list)  # cumulative seconds
    cpu: list[float] = field(default_factory=list)  # cumulative CPU seconds of this process
    passes: list[float] = field(default_factory=list)  # cumulative gradient-equivalent passes
    cg_iters: list[int] = field(default_factory=list)  # per HF iteration (empty for first-order methods)
    samples: list[int] = field(default_factory=list)
    start_loss: float | None = None  # full training loss before the first iteration

    def to_target(self, target: float) -> dict | None:
        """Cost of the first iteration whose full training loss is <= target (None: never reached)."""
        hit = np.flatnonzero(np.asarray(self.loss) <= target)
        if not hit.size:
            return None
        k = int(hit[0])
        out = dict(iterations=k + 1, wall=self.wall[k], passes=self.passes[k])
        if self.cpu:
            out["cpu"] = self.cpu[k]
        if self.cg_iters:
            out.update(cg=int(sum(self.cg_iters[: k + 1])), cg_per_iter=float(np.mean(self.cg_iters[: k + 1])))
        return out


def curves_autoencoder_objective(n_train: int = 300, seed: int = 0) -> ModuleObjective:
    """F(theta) = 1/2 ||f(theta, x) - x||^2 averaged over ``n_train`` CURVES-like images x (n_train, 100):
    the deep autoencoder f of ``curves.autoencoder`` reconstructing its input. A fresh network for every call."""
    x = curve_images(n_train, seed=seed)
    return ModuleObjective(autoencoder(seed=seed), sum_squared_error, x, x)


def run_hf(name: str, objective: ModuleObjective, target: float | None = None, max_iters: int = 60,
           progress=None, **settings) -> Run:
    """HF with ``settings``; stops after ``max_iters`` or once the full training loss reaches ``target``.

    ``settings``: flat keywords (``damping=``, ``max_cg=``, ``preconditioner=``, ``sample_start=``, ...; see
    ``optimizer.from_keywords``), or the groups themselves (``solve=Solve(max_cg=40)``, ...)."""
    opt = HessianFree(objective.model.parameters(), **_groups(settings))
    run = Run(name, start_loss=objective.loss(objective.get_params()))
    for _ in range(max_iters):
        opt.step(objective)
        log = opt.log[-1]
        run.loss.append(objective.loss(objective.get_params()))
        run.wall.append(log.wall)
        run.cpu.append(log.cpu)
        run.passes.append(log.passes)
        run.cg_iters.append(log.cg_iters)
        run.samples.append(log.samples)
        if progress is not None:
            progress.update(1)
        if target is not None and run.loss[-1] <= target:
            break
    return run


def _groups(settings: dict) -> dict:
    """Flat keywords translated into settings groups; groups given as such pass through (not both for one group)."""
    given = {k: v for k, v in settings.items() if k in ("damping", "solve", "line_search", "sampling", "preconditioning")
             and not isinstance(v, (int, float))}
    flat = {k: v for k, v in settings.items() if k not in given}
    groups = from_keywords(**flat)
    both = sorted(set(groups) & set(given))
    if both:
        raise ValueError(f"{', '.join(both)}: given both as a group and as flat keywords")
    return {**groups, **given}


def run_first_order(name: str, objective: ModuleObjective, kind: str, lr: float, epochs: int, batch: int = 30,
                    seed: int = 0, target: float | None = None) -> Run:
    """SGD with momentum 0.9 / Adam on mini-batches, or torch.optim.LBFGS full batch (one record per epoch
    or per L-BFGS step)."""
    model = objective.model
    g = torch.Generator().manual_seed(seed)
    run = Run(name, start_loss=objective.loss(objective.get_params()))
    passes, wall = 0.0, 0.0
    opt = _first_order_optimizer(kind, model.parameters(), lr)
    x, t = objective.inputs, objective.targets
    calls = 0  # loss-and-gradient evaluations of L-BFGS so far: one full pass each

    def closure() -> float:
        nonlocal calls
        calls += 1
        opt.zero_grad()
        value = objective.loss_fn(model(x), t)
        value.backward()
        return float(value.detach())

    for _ in range(epochs):
        start = time.perf_counter()
        epoch(kind, opt, closure, objective, batch, g)
        passes = float(calls) if kind == "lbfgs" else passes + 1.0
        wall += time.perf_counter() - start
        run.loss.append(objective.loss(objective.get_params()))
        run.wall.append(wall)
        run.passes.append(passes)
        if target is not None and run.loss[-1] <= target:
            break
    return run


def epoch(kind: str, opt: torch.optim.Optimizer, closure: Callable, objective: ModuleObjective, batch: int,
          g: torch.Generator) -> None:
    """One record's worth of a first-order method: one ``step(closure)`` of L-BFGS (the closure counts its
    full-batch gradients), or one shuffled pass over the data in mini-batches of ``batch`` (SGD, Adam)."""
    if kind == "lbfgs":
        opt.step(closure)
        return
    x, t = objective.inputs, objective.targets
    for idx in torch.randperm(objective.n, generator=g).split(batch):
        opt.zero_grad()
        objective.loss_fn(objective.model(x[idx]), t[idx]).backward()
        opt.step()


def _first_order_optimizer(kind: str, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """'sgd': SGD with momentum 0.9; 'adam': Adam; 'lbfgs': torch's L-BFGS (20 iterations a step, strong Wolfe)."""
    if kind == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=20, line_search_fn="strong_wolfe")
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"kind: expected 'sgd', 'adam' or 'lbfgs', got {kind!r}")
