"""Why skip connections help: gradient size per layer and gradient smoothness against depth.

A deep tanh network f: R -> R on a grid of inputs x_1 < ... < x_m. Two measurements:

- per-layer gradient norm ||dE/dtheta_j|| (theta_j: the weights and bias computing node j) of
  E = 1/2 mean_i (f(x_i) - y_i)^2: how evenly the training signal reaches every layer;
- smoothness: the correlation over i of f'(x_i) and f'(x_{i+1}), the input-gradients at
  neighbouring inputs. Near 1 the gradient is a smooth function of x; near 0 it is "shattered",
  white noise (Balduzzi et al. 2017), and a gradient step learnt at x says nothing about x + dx.

Plain: h_j = tanh(W_j h_{j-1} + b_j). Residual: h_j = s tanh(W_j h_{j-1} + b_j) + h_{j-1}, with
branch scale s (s = 1/sqrt(depth) keeps the sum of the depth branches of bounded size).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mbp_teach.momentum.dagnet import DAGNet, chain_edges

# weight_std 2, bias_std 0.5: a tanh network in its chaotic regime, where depth hurts a plain net.
WEIGHT_STD = 2.0
BIAS_STD = 0.5

VARIANTS: dict[str, dict] = {
    "plain": dict(residual=False),
    "residual, branch × 1": dict(residual=True, branch_scale=1.0),
    "residual, branch × 1/√depth": dict(residual=True, branch_scale="sqrt"),
}


def deep_tanh_net(depth: int, width: int = 64, residual: bool = False, branch_scale: float | str = 1.0,
                  weight_std: float = WEIGHT_STD, bias_std: float = BIAS_STD, seed: int = 0) -> DAGNet:
    """1 -> width x depth -> 1 tanh net; residual adds identity skips between hidden layers."""
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth: expected a positive integer, got {depth!r}")
    n = depth + 2
    identity = {i: [i + 1] for i in range(1, depth)} if residual else None
    scale = 1.0 / math.sqrt(depth) if branch_scale == "sqrt" else branch_scale
    return DAGNet([1] + [width] * depth + [1], chain_edges(n), identity=identity, weight_std=weight_std,
                  bias_std=bias_std, branch_scale=scale, generator=torch.Generator().manual_seed(seed))


def input_grid(m: int = 256, low: float = -2.0, high: float = 2.0) -> torch.Tensor:
    if m < 3:
        raise ValueError(f"m: need at least 3 points to correlate neighbours, got {m}")
    return torch.linspace(low, high, m, dtype=torch.float64)[:, None]


def input_gradients(net: DAGNet, x: torch.Tensor) -> np.ndarray:
    """f'(x_i) for every input (the network is scalar in, scalar out)."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(net(x).sum(), x)
    return g[:, 0].numpy()


def neighbour_correlation(g) -> float:
    """Pearson correlation of (g_i, g_{i+1}) over i: 1 smooth, about 0 shattered."""
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 1 or g.size < 3:
        raise ValueError(f"g: need a 1-D sequence of at least 3 gradients, got shape {g.shape}")
    a, b = g[:-1] - g[:-1].mean(), g[1:] - g[1:].mean()
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    if den == 0.0:
        raise ValueError("g: constant gradient, correlation undefined")
    return float((a * b).sum() / den)


def layer_gradient_norms(net: DAGNet, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """||dE/dtheta_j|| for the hidden layers j = 1..depth, E = 1/2 mean (f(x) - y)^2."""
    net.zero_grad()
    err = 0.5 * ((net(x) - y) ** 2).mean()
    err.backward()
    hidden = range(1, len(net.sizes) - 1)
    return np.array([math.sqrt(sum(float((p.grad**2).sum()) for p in net.node_parameters(j))) for j in hidden])


def depth_sweep(depths, seeds, width: int = 64, m: int = 256, variants: dict | None = None, progress=None
                ) -> dict[str, np.ndarray]:
    """Neighbour correlation of input-gradients for each variant: {name: array (len(seeds), len(depths))}."""
    variants = VARIANTS if variants is None else variants
    x = input_grid(m)
    out = {name: np.zeros((len(seeds), len(depths))) for name in variants}
    jobs = [(name, s, d) for name in variants for s in range(len(seeds)) for d in range(len(depths))]
    for name, s, d in progress(jobs) if progress else jobs:
        net = deep_tanh_net(int(depths[d]), width, seed=int(seeds[s]), **variants[name])
        out[name][s, d] = neighbour_correlation(input_gradients(net, x))
    return out


def target(x: torch.Tensor) -> torch.Tensor:
    """The regression target of the training comparison, y = sin(2x), (m, 1) for x (m, 1)."""
    return torch.sin(2.0 * x)


def train_deep(variant: str, depth: int, seeds, eta: float, steps: int, width: int = 64, m: int = 256,
               tau: float = 0.0, progress=None) -> np.ndarray:
    """Training error of deep nets against steps: array (len(seeds), steps + 1) of E(w_k).

    ``variant``: a key of VARIANTS; each seed draws its own initial weights (``deep_tanh_net``) and
    the net is trained by full-batch gradient descent (tau = 0) or adaptive momentum (tau > 0) on
    E = 1/2 mean_i (f(x_i) - sin 2x_i)^2 over ``input_grid(m)``.
    """
    from mbp_teach.momentum.adaptive import train_full_batch

    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {list(VARIANTS)}, got {variant!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    x = input_grid(m)
    y = target(x)
    out = np.zeros((len(seeds), steps + 1))
    for k in progress(range(len(seeds))) if progress else range(len(seeds)):
        net = deep_tanh_net(depth, width, seed=seeds[k], **VARIANTS[variant])
        out[k] = train_full_batch(net, x, y, eta, tau, steps).error
    return out


TRAINING_RESULT = "05_dag_training.json"
TRAINING_COMMAND = "python -m mbp_teach.experiments dag_training --deep-seeds 5 --seeds 5"
_DEEP_KEYS = ("eta", "curves", "final_median_per_eta", "diverged_seeds_per_eta", "diverged_everywhere")
_DIGITS_KEYS = ("parameters", "eta", "tau", "steps", "runs", "reconstructions", "test_images")
AUTOENCODERS = ("DAG (skips)", "sequential")


def load_training_result(path=None) -> dict:
    """The stored long runs of notebook 05 (figures/05_dag_training.json unless ``path``), checked for both parts.

    A missing file, or one without every deep variant of ``VARIANTS`` and both autoencoders, raises ValueError
    naming what is missing and the command that writes it."""
    import json
    from pathlib import Path

    from mbp_teach.notebook import figures_dir

    p = Path(path) if path is not None else figures_dir() / TRAINING_RESULT
    if not p.is_file():
        raise ValueError(f"path: no stored result at {p}; run `{TRAINING_COMMAND}` to make it")
    try:
        result = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"path: {p} is not valid JSON ({exc}); run `{TRAINING_COMMAND}` again") from exc
    problems = []
    deep = result.get("deep") if isinstance(result, dict) else None
    if not isinstance(deep, dict):
        problems.append("the part 'deep'")
    else:
        for name in VARIANTS:
            v = deep.get(name)
            missing = [k for k in _DEEP_KEYS if not isinstance(v, dict) or k not in v]
            if missing:
                problems.append(f"deep variant {name!r} ({', '.join(missing)})")
            elif not v["curves"] or len({len(c) for c in v["curves"]}) != 1:
                problems.append(f"deep variant {name!r} (curves: need one equal-length curve per seed)")
    digits = result.get("digits") if isinstance(result, dict) else None
    if not isinstance(digits, dict):
        problems.append("the part 'digits'")
    else:
        missing = [k for k in _DIGITS_KEYS if k not in digits]
        if missing:
            problems.append(f"digits ({', '.join(missing)})")
        else:
            for name in AUTOENCODERS:
                if not any(r.get("name") == name for r in digits["runs"]):
                    problems.append(f"digits runs of {name!r}")
                if name not in digits["reconstructions"]:
                    problems.append(f"digits reconstructions of {name!r}")
    if problems:
        raise ValueError(f"path: {p} is incomplete, it lacks {'; '.join(problems)}; run `{TRAINING_COMMAND}`")
    return result


def stored_final_errors(result: dict) -> dict[str, np.ndarray]:
    """Final training error per seed of each deep variant at its chosen step size (NaN: the run diverged)."""
    out = {}
    for name, v in result["deep"].items():
        last = np.array([c[-1] for c in v["curves"]], dtype=float)
        out[name] = np.where(np.isfinite(last) & (last < 1e300), last, np.nan)
    return out
