"""Batch gradient descent with adaptive momentum (Zhang, Wu & Zheng 2006; Agarwal, Klobusicky & Schonfeld).

    dw_{k+1} = -eta g_k + tau_k dw_k,   tau_k = tau ||g_k|| / ||dw_k||   (tau_k = 0 when dw_k = 0),
    w_{k+1} = w_k + dw_{k+1},

with g_k the gradient of the batch error E at w_k. The momentum term tau_k dw_k has length exactly
tau ||g_k||: it can never outgrow the gradient, which is what the convergence proofs use
(monotone decrease of E for small enough eta and tau, ||g_k|| -> 0, w_k -> w*; Agarwal, Klobusicky
& Schonfeld, J. Comput. Math. 39(1), 2021; arXiv 1705.07404).
Norms are over all parameters of a parameter group (the weight vector w of the theory). Where the
coefficient lives is a choice: one group for the whole network (one global tau_k), one group per
node (the weights into a layer and its bias) or one per weight tensor (``param_groups``). Each
group l gets tau_k^l = tau ||g_k^l|| / ||dw_k^l||, so its momentum term has length tau ||g_k^l||
and the whole momentum term still has length tau ||g_k|| (sum_l tau^2 ||g^l||^2 = tau^2 ||g||^2).

``train`` runs any of three methods with the same initial weights and budget: gradient descent
(tau = 0), heavy ball with a constant coefficient beta (torch.optim.SGD: dw_{k+1} = -eta g_k + beta dw_k)
and adaptive momentum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mbp_teach.validation import check_positive

GROUPINGS = ("global", "node", "tensor")
METHODS = ("gd", "heavy_ball", "adaptive")


def param_groups(net: torch.nn.Module, by: str = "global") -> list[dict]:
    """Parameter groups for ``AdaptiveMomentum``: one coefficient tau_k per group.

    by="global": one group, all parameters; "node": for a DAGNet, one group per node j >= 1 (the
    weights of its incoming edges and its bias: the layer that computes h_j); "tensor": one group per
    parameter tensor (every W_ij and every b_j alone).
    """
    params = list(net.parameters())
    if by == "global":
        return [{"params": params}]
    if by == "tensor":
        return [{"params": [p]} for p in params]
    if by == "node":
        if not hasattr(net, "node_parameters"):
            raise ValueError("by='node' needs a DAGNet (a network with node_parameters(j))")
        groups = [{"params": net.node_parameters(j)} for j in range(1, len(net.sizes))]
        if sum(len(g["params"]) for g in groups) != len(params):  # pragma: no cover - DAGNet invariant
            raise ValueError("by='node': the node groups do not cover every parameter")
        return groups
    raise ValueError(f"by: expected one of {GROUPINGS}, got {by!r}")


class AdaptiveMomentum(torch.optim.Optimizer):
    """The rule above as a ``torch.optim.Optimizer``; ``step(closure)`` needs the closure (it records E).

    ``history`` holds, per step k: "error" E(w_k), "grad_norm" ||g_k||, "tau_k", and
    "momentum_norm" ||tau_k dw_k|| (over all groups; tau_k of the first group).
    """

    def __init__(self, params, eta: float, tau: float):
        check_positive(eta, "eta")
        check_positive(tau, "tau", allow_zero=True)
        super().__init__(params, dict(eta=eta, tau=tau))
        self.history: dict[str, list[float]] = {"error": [], "grad_norm": [], "tau_k": [], "momentum_norm": []}

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("closure: AdaptiveMomentum.step needs a closure that zeroes the gradients, "
                             "computes the batch error E(w_k), calls backward and returns E")
        with torch.enable_grad():
            loss = closure()
        g_sq_all, m_sq_all, first_tau = 0.0, 0.0, None
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            dws = [self.state[p].setdefault("dw", torch.zeros_like(p)) for p in params]
            # one reduction per list (foreach) keeps the step cheap for small networks
            g_norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
            dw_norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(dws))))
            tau_k = group["tau"] * g_norm / dw_norm if dw_norm > 0 else 0.0
            torch._foreach_mul_(dws, tau_k)
            torch._foreach_add_(dws, grads, alpha=-group["eta"])
            torch._foreach_add_(params, dws)
            g_sq_all += g_norm**2
            m_sq_all += (tau_k * dw_norm) ** 2
            first_tau = tau_k if first_tau is None else first_tau
        h = self.history
        h["error"].append(float(loss))
        h["grad_norm"].append(math.sqrt(g_sq_all))
        h["tau_k"].append(float(first_tau or 0.0))
        h["momentum_norm"].append(math.sqrt(m_sq_all))
        return loss


@dataclass
class Run:
    """One training run: errors E(w_0..w_steps) (one more than steps), and per step ||g_k||, tau_k."""

    error: np.ndarray
    grad_norm: np.ndarray
    tau_k: np.ndarray
    momentum_norm: np.ndarray


def train_full_batch(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eta: float, tau: float,
                     steps: int, by: str = "global") -> Run:
    """Batch gradient descent with adaptive momentum on E(w) = 1/2 mean over samples of ||model(x) - y||^2.

    x (n, d_in), y (n, d_out); ``by``: where tau_k lives (``param_groups``)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x, y: need the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    opt = AdaptiveMomentum(param_groups(model, by), eta=eta, tau=tau)

    def closure():
        opt.zero_grad()
        err = 0.5 * ((model(x) - y) ** 2).sum(dim=-1).mean()
        err.backward()
        return err

    for _ in range(steps):
        opt.step(closure)
    with torch.no_grad():
        final = float(0.5 * ((model(x) - y) ** 2).sum(dim=-1).mean())
    h = opt.history
    return Run(np.array(h["error"] + [final]), np.array(h["grad_norm"]), np.array(h["tau_k"]),
               np.array(h["momentum_norm"]))


def violations(error, rtol: float = 1e-12) -> np.ndarray:
    """Steps k where E(w_{k+1}) > E(w_k) (1 + rtol): where monotone decrease fails (rtol: rounding)."""
    e = np.asarray(error, dtype=np.float64)
    if e.ndim != 1 or e.size < 2:
        raise ValueError(f"error: need a 1-D sequence of at least 2 values, got shape {e.shape}")
    if not np.isfinite(e).all():
        # a blow-up is a violation at the first non-finite value
        bad = int(np.argmax(~np.isfinite(e)))
        return np.concatenate([violations(e[:bad]) if bad >= 2 else np.array([], dtype=int), [max(bad - 1, 0)]])
    return np.flatnonzero(e[1:] > e[:-1] * (1.0 + rtol))


def demo_problem(seed: int = 0, n: int = 64):
    """A small DAG regression: fit sin(2x) + noise on [-2, 2] with a 1-12-12-1 tanh net with skips 0->2, 1->3."""
    from mbp_teach.momentum.dagnet import DAGNet, skip_edges

    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-2.0, 2.0, n, dtype=torch.float64)[:, None]
    y = torch.sin(2.0 * x) + 0.1 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return DAGNet([1, 12, 12, 1], skip_edges(4), generator=g), x, y


def tau_sweep(taus, seeds, eta: float = 0.1, steps: int = 300, progress=None, by: str = "global"
              ) -> dict[str, np.ndarray]:
    """Monotonicity of E(w_k) for each (seed, tau) on ``demo_problem(seed)``, per seed and over seeds.

    Per run, arrays of shape (len(seeds), len(taus)):

    - "count": steps k with E(w_{k+1}) > E(w_k) (``violations``); "first": the first such k (-1: none);
    - "first_rise": E(w_{k+1}) / E(w_k) - 1 at that first violation (0 when none);
    - "max_rise": max_k E(w_{k+1}) / E(w_k) - 1; negative for a monotone run, where -max_rise is the
      smallest relative decrease, i.e. how far the run stayed from a violation;
    - "final": the last error; "curves": every run's errors, shape (len(seeds), len(taus), steps + 1).

    Over seeds, arrays of shape (len(taus),): "seeds_violating" (seeds with at least one violation),
    "first_median" (median first violating step over those seeds, NaN if none), "count_median",
    "count_min", "count_max".

    What is robust: whether and when a run first fails is decided in its first steps, with rises and
    decreases of relative size >= 1e-4 on ``demo_problem``, far above round-off. The counts past the
    threshold are not: those runs are chaotic, so a round-off difference (another CPU's kernels)
    changes them, and their median over a few seeds as well.
    """
    taus = np.asarray(taus, dtype=np.float64).reshape(-1)
    seeds = [int(s) for s in seeds]
    if taus.size == 0 or not np.isfinite(taus).all() or (taus < 0).any():
        raise ValueError(f"taus: need at least one finite, non-negative tau, got {taus}")
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    shape = (len(seeds), taus.size)
    out = {k: np.zeros(shape) for k in ("count", "first", "first_rise", "max_rise", "final")}
    out["curves"] = np.zeros(shape + (steps + 1,))
    jobs = [(s, t) for s in range(len(seeds)) for t in range(taus.size)]
    for s, t in progress(jobs) if progress else jobs:
        net, x, y = demo_problem(seeds[s])
        run = train_full_batch(net, x, y, eta, float(taus[t]), steps, by)
        v = violations(run.error)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            rise = run.error[1:] / run.error[:-1] - 1.0
        out["count"][s, t] = len(v)
        out["first"][s, t] = v[0] if len(v) else -1
        out["first_rise"][s, t] = rise[v[0]] if len(v) else 0.0
        out["max_rise"][s, t] = np.nanmax(np.where(np.isfinite(rise), rise, np.inf))
        out["final"][s, t] = run.error[-1]
        out["curves"][s, t] = run.error
    hit = out["first"] >= 0
    out["seeds_violating"] = hit.sum(axis=0)
    out["first_median"] = np.array([np.median(out["first"][hit[:, t], t]) if hit[:, t].any() else np.nan
                                    for t in range(taus.size)])
    out["count_median"] = np.median(out["count"], axis=0)
    out["count_min"] = out["count"].min(axis=0)
    out["count_max"] = out["count"].max(axis=0)
    return out


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, method: str, eta: float, steps: int,
          coefficient: float = 0.0, by: str = "global") -> np.ndarray:
    """Errors E(w_0), ..., E(w_steps) (steps + 1,) of one full-batch run on E = 1/2 mean ||model(x) - y||^2.

    method "gd": dw_{k+1} = -eta g_k; "heavy_ball": -eta g_k + beta dw_k with beta = ``coefficient``
    (0 <= beta < 1); "adaptive": -eta g_k + tau_k dw_k with tau = ``coefficient`` and tau_k per group ``by``.
    A run that overflows keeps inf for the rest of its errors.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if method == "heavy_ball" and not 0.0 <= coefficient < 1.0:
        raise ValueError(f"coefficient: heavy ball needs 0 <= beta < 1, got {coefficient!r}")
    if method == "gd":
        return train_full_batch(model, x, y, eta, 0.0, steps, by).error
    if method == "adaptive":
        return train_full_batch(model, x, y, eta, coefficient, steps, by).error
    check_positive(eta, "eta")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=coefficient)  # v = beta v + g; w -= eta v

    def error():
        return 0.5 * ((model(x) - y) ** 2).sum(dim=-1).mean()

    errors = []
    for _ in range(steps):
        opt.zero_grad()
        e = error()
        errors.append(float(e.detach()))
        if not math.isfinite(errors[-1]):
            break
        e.backward()
        opt.step()
    with torch.no_grad():
        errors.append(float(error()) if len(errors) == steps else math.inf)
    out = np.full(steps + 1, np.inf)
    out[:len(errors)] = np.nan_to_num(errors, nan=np.inf)
    return out


def compare_methods(methods: dict[str, tuple[str, float]], seeds, eta: float = 0.1, steps: int = 300,
                    problem: Callable = demo_problem, by: str = "global", progress=None) -> dict[str, np.ndarray]:
    """Errors per step for each named method on ``problem(seed)``: {name: array (len(seeds), steps + 1)}.

    ``methods``: {name: (method, coefficient)} for ``train``. Every method starts from the same
    initial weights for a seed and gets the same eta and number of steps (one gradient per step).
    """
    seeds = [int(s) for s in seeds]
    if not seeds or not methods:
        raise ValueError("methods, seeds: need at least one of each")
    out = {name: np.zeros((len(seeds), steps + 1)) for name in methods}
    jobs = [(name, s) for name in methods for s in range(len(seeds))]
    for name, s in progress(jobs) if progress else jobs:
        net, x, y = problem(seeds[s])
        out[name][s] = train(net, x, y, methods[name][0], eta, steps, methods[name][1], by)
    return out
