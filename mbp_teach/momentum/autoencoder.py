"""The paper's example at CPU scale: autoencoder compression, DAG (skip) architecture vs sequential.

Data: 8x8 images of one Gaussian blob (random centre, width, brightness), generated here, so
nothing is downloaded: 4 numbers describe each image, and a 4-number code can compress it.
The DAG autoencoder adds skip edges *inside* the encoder and *inside* the decoder, never across
the code node, so every path from input to output still passes through the 4-number code
(checked by ``DAGNet.is_cut``). The sequential autoencoder has widths chosen so that both have
exactly the same number of parameters. Both are trained by batch gradient descent with adaptive
momentum (``AdaptiveMomentum``), the optimiser of the paper.

Metrics per run: test MSE per pixel, PSNR = 10 log10(1 / MSE) (pixel range [0, 1]), the first
step whose training MSE reaches a target, and the final gradient norm ||g||.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from mbp_teach.momentum.adaptive import AdaptiveMomentum
from mbp_teach.momentum.dagnet import DAGNet, chain_edges

SIDE = 8
CODE = 4


def blob_images(n: int, side: int = SIDE, seed: int = 0) -> torch.Tensor:
    """(n, side*side) images in [0, 1]: a Gaussian blob with random centre, width 0.8..2 px and peak 0.5..1."""
    if n < 1 or side < 2:
        raise ValueError(f"n, side: need n >= 1 and side >= 2, got n={n}, side={side}")
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 4, generator=g, dtype=torch.float64)
    cx, cy = 1.0 + u[:, 0] * (side - 3), 1.0 + u[:, 1] * (side - 3)
    width, peak = 0.8 + 1.2 * u[:, 2], 0.5 + 0.5 * u[:, 3]
    r = torch.arange(side, dtype=torch.float64)
    d2 = (r[None, None, :] - cx[:, None, None]) ** 2 + (r[None, :, None] - cy[:, None, None]) ** 2
    img = peak[:, None, None] * torch.exp(-d2 / (2 * width[:, None, None] ** 2))
    return img.reshape(n, side * side)


def dag_autoencoder(seed: int = 0, d: int = SIDE * SIDE, h1: int = 32, h2: int = 16, code: int = CODE) -> DAGNet:
    """d -> h1 -> h2 -> code -> h2 -> h1 -> d with skips 0->2, 1->3 (encoder) and 3->5, 4->6 (decoder)."""
    edges = chain_edges(7)
    for i, j in ((0, 2), (1, 3), (3, 5), (4, 6)):
        edges[i].append(j)
    return DAGNet([d, h1, h2, code, h2, h1, d], edges, bias_std=0.0, generator=torch.Generator().manual_seed(seed))


def sequential_autoencoder(widths: tuple[int, int, int, int], seed: int = 0, d: int = SIDE * SIDE,
                           code: int = CODE) -> DAGNet:
    """d -> a -> b -> code -> c -> e -> d, a chain (widths = (a, b, c, e))."""
    a, b, c, e = widths
    return DAGNet([d, a, b, code, c, e, d], chain_edges(7), bias_std=0.0, generator=torch.Generator().manual_seed(seed))


def chain_parameter_count(sizes) -> int:
    return sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1))


def matching_widths(target: int, d: int = SIDE * SIDE, code: int = CODE, around: tuple[int, int] = (32, 16),
                    spread: int = 24) -> tuple[int, int, int, int]:
    """Chain widths (a, b, c, e) with exactly ``target`` parameters, the most symmetric and closest to ``around``.

    The count is linear in e once a, b, c are fixed, (d + 1 + c) e = target - rest, so e is solved for,
    not searched."""
    best = None
    a0, b0 = around
    rng_a = range(max(1, a0 - spread), a0 + spread + 1)
    rng_b = range(max(1, b0 - spread), b0 + spread + 1)
    for a, b, c in itertools.product(rng_a, rng_b, rng_b):
        rest = chain_parameter_count([d, a, b, code, c]) + d  # every term without e (d: the output biases)
        e, r = divmod(target - rest, c + 1 + d)
        if r or not rng_a.start <= e < rng_a.stop:
            continue
        key = (abs(a - e) + abs(b - c), abs(a - a0) + abs(b - b0) + abs(e - a0) + abs(c - b0))
        if best is None or key < best[0]:
            best = (key, (a, b, c, e))
    if best is None:
        raise ValueError(f"target: no chain widths near {around} give exactly {target} parameters")
    return best[1]


@dataclass
class Result:
    name: str
    seed: int
    train_mse: np.ndarray  # per step, per pixel
    test_mse: float
    psnr: float
    steps_to_target: int | None
    grad_norm: float


def train(net: DAGNet, x_train: torch.Tensor, x_test: torch.Tensor, eta: float, tau: float, steps: int,
          target: float, name: str = "", seed: int = 0) -> Result:
    """Batch GD with adaptive momentum on E = 1/2 mean_i ||net(x_i) - x_i||^2; metrics per pixel."""
    opt = AdaptiveMomentum(net.parameters(), eta=eta, tau=tau)
    d = x_train.shape[1]

    def closure():
        opt.zero_grad()
        err = 0.5 * ((net(x_train) - x_train) ** 2).sum(dim=1).mean()
        err.backward()
        return err

    for _ in range(steps):
        opt.step(closure)
    mse = 2.0 * np.array(opt.history["error"]) / d  # E = d/2 * per-pixel MSE
    hit = np.flatnonzero(mse <= target)
    with torch.no_grad():
        test = float(((net(x_test) - x_test) ** 2).mean())
    return Result(name, seed, mse, test, 10.0 * math.log10(1.0 / test), int(hit[0]) if hit.size else None,
                  opt.history["grad_norm"][-1])


def summary_table(results: list[Result], target: float) -> str:
    """Mean ± std over seeds of each metric, one row per architecture (plain text, stable digits)."""
    names = list(dict.fromkeys(r.name for r in results))
    lines = [f"{'architecture':<22}{'test MSE':>18}{'PSNR (dB)':>16}{f'steps to MSE {target:g}':>24}"
             f"{'final ||g||':>20}"]
    for name in names:
        rs = [r for r in results if r.name == name]
        mse = np.array([r.test_mse for r in rs])
        psnr = np.array([r.psnr for r in rs])
        hits = [r.steps_to_target for r in rs if r.steps_to_target is not None]
        steps = (f"{np.mean(hits):.0f} ± {np.std(hits):.0f}" if hits else "never") + f" ({len(hits)}/{len(rs)})"
        g = np.array([r.grad_norm for r in rs])
        lines.append(f"{name:<22}{mse.mean():>10.5f} ± {mse.std():.5f}{psnr.mean():>9.2f} ± {psnr.std():.2f}"
                     f"{steps:>24}{g.mean():>12.4f} ± {g.std():.4f}")
    return "\n".join(lines)
