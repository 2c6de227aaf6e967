"""Figures of notebook 05: a DAG network's wiring (``draw_dag``), monotonicity violations of
adaptive momentum against tau, gradient smoothness against depth, and the autoencoders' training
curves. Each function returns its figure (``draw_dag`` can also draw into axes it is given).
"""

from __future__ import annotations

import numpy as np
import torch

from mbp_teach.momentum import autoencoder as ae
from mbp_teach.momentum.dagnet import DAGNet
from mbp_teach.plotting import new_figure


def draw_dag(net: DAGNet, ax=None, title: str | None = None):
    """Draw the wiring of ``net``: nodes in columns by depth (labelled with widths), skips as arcs."""
    if ax is None:
        fig, ax = new_figure(figsize=(max(4.0, 0.9 * len(net.sizes)), 2.6))
    else:
        fig = ax.figure
    depth = net.depth()
    cols: dict[int, list[int]] = {}
    for j, dj in enumerate(depth):
        cols.setdefault(dj, []).append(j)
    pos = {}
    for dj, nodes in cols.items():
        for r, j in enumerate(nodes):
            pos[j] = (float(dj), (r - (len(nodes) - 1) / 2) * 0.8)
    top, bottom = 0.6, -0.6
    for kind, pairs in (("dense", net.dense), ("identity", net.ident)):
        for i, j in pairs:
            (x0, y0), (x1, y1) = pos[i], pos[j]
            span = x1 - x0
            bend = 0.0 if span <= 1 else 0.25 * (span - 1) + 0.25
            if kind == "identity":
                bend = -bend if bend else -0.35
            xs = np.linspace(x0, x1, 30)
            ys = np.linspace(y0, y1, 30) + bend * np.sin(np.linspace(0, np.pi, 30))
            top, bottom = max(top, ys.max() + 0.3), min(bottom, ys.min() - 0.3)
            ax.plot(xs, ys, color="C0" if kind == "dense" else "C1", ls="-" if kind == "dense" else "--",
                    lw=1.2, zorder=1)
    for j, (x, y) in pos.items():
        ax.scatter([x], [y], s=380, color="w", edgecolors="k", zorder=2)
        ax.text(x, y, str(net.sizes[j]), ha="center", va="center", fontsize=8, zorder=3)
    ax.plot([], [], color="C0", label="dense edge W_ij")
    if net.ident:
        ax.plot([], [], color="C1", ls="--", label="identity skip")
    ax.text(pos[0][0], pos[0][1] - 0.35, "input", ha="center", va="top", fontsize=7)
    last = len(net.sizes) - 1
    ax.text(pos[last][0], pos[last][1] - 0.35, "output", ha="center", va="top", fontsize=7)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.set_xlim(-0.5, max(depth) + 0.5)
    ax.set_ylim(bottom, top + 0.3)
    ax.set_axis_off()
    ax.set_title(title or f"{len(net.sizes)} nodes (numbers: widths), {net.parameter_count()} parameters",
                 fontsize=9)
    return fig


def violations_figure(taus, sweep: dict[str, np.ndarray], steps: int, eta: float):
    """Violations per tau (every seed a dot, the median a line) and the first violating step."""
    fig, (a, b) = new_figure(1, 2, figsize=(10.0, 3.6))
    taus = np.asarray(taus)
    count, first = sweep["count"], sweep["first"]
    for s in range(count.shape[0]):
        a.plot(taus, count[s], "o", ms=4, color="C0", alpha=0.5)
    a.plot(taus, np.median(count, axis=0), "-", color="C0", label=f"median over {count.shape[0]} seeds")
    a.set_xlabel("momentum factor τ")
    a.set_ylabel(f"steps where E increases (of {steps})")
    a.set_title(f"monotonicity violations, η = {eta:g}", fontsize=10)
    a.legend(fontsize=8)
    hit = np.where(first >= 0, first, np.nan)
    for s in range(first.shape[0]):
        b.plot(taus, hit[s], "o", ms=4, color="C3", alpha=0.6)
    b.set_xlabel("momentum factor τ")
    b.set_ylabel("first step with E(w_k+1) > E(w_k)")
    b.set_title("where monotone decrease first fails (no dot: never)", fontsize=10)
    b.set_xlim(a.get_xlim())
    fig.tight_layout()
    return fig


def skip_depth_figure(depths, corr: dict[str, np.ndarray], grads: dict[str, np.ndarray], norms: dict[str, np.ndarray],
                      x: np.ndarray):
    """Three panels: correlation against depth; f'(x) of the deepest nets; per-layer gradient norms."""
    fig, axes = new_figure(1, 3, figsize=(14.0, 3.9))
    for k, name in enumerate(corr):
        c = corr[name]
        axes[0].plot(depths, np.median(c, axis=0), "-o", ms=4, color=f"C{k}", label=name)
        axes[0].fill_between(depths, c.min(axis=0), c.max(axis=0), color=f"C{k}", alpha=0.15)
        g = grads[name]
        axes[1].plot(x, g / np.abs(g).max(), color=f"C{k}", lw=1, label=name)
        axes[2].semilogy(np.arange(1, len(norms[name]) + 1), norms[name], "-o", ms=3, color=f"C{k}", label=name)
    axes[0].set_xlabel("depth (hidden layers)")
    axes[0].set_ylabel("corr(f'(x_i), f'(x_i+1))")
    axes[0].set_title("gradient smoothness (median, band: min–max over seeds)", fontsize=9)
    axes[0].axhline(0.0, color="0.6", lw=0.8)
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("input x")
    axes[1].set_ylabel("f'(x) / max |f'|  (normalised)")
    axes[1].set_title(f"input-gradient of a depth-{max(depths)} net", fontsize=9)
    axes[2].set_xlabel("layer j (1 = next to the input)")
    axes[2].set_ylabel("||dE/dθ_j||  (log scale)")
    axes[2].set_title(f"per-layer gradient norm, depth {max(depths)}", fontsize=9)
    fig.tight_layout()
    return fig


def autoencoder_curves_figure(results: list[ae.Result], target: float, x_test: torch.Tensor | None = None,
                              nets: dict[str, DAGNet] | None = None):
    """Training MSE per step (thin: seeds, thick: median) with the target; with test images x_test
    (n, SIDE * SIDE) and trained ``nets`` ({name: net}), also their first 6 reconstructions."""
    extra = 1 if x_test is not None and nets else 0
    fig, axes = new_figure(1, 1 + extra, figsize=(6.5 + 4.5 * extra, 3.9), squeeze=False)
    ax = axes[0, 0]
    names = list(dict.fromkeys(r.name for r in results))
    for k, name in enumerate(names):
        curves = np.array([r.train_mse for r in results if r.name == name])
        for c in curves:
            ax.semilogy(c, color=f"C{k}", lw=0.6, alpha=0.4)
        ax.semilogy(np.median(curves, axis=0), color=f"C{k}", lw=2, label=f"{name} (median of {len(curves)} seeds)")
    ax.axhline(target, color="k", ls=":", lw=1, label=f"target MSE {target:g}")
    ax.set_xlabel("step (full batch)")
    ax.set_ylabel("training MSE per pixel (intensity²)")
    ax.legend(fontsize=8)
    ax.set_title("Autoencoder training with adaptive momentum", fontsize=10)
    if x_test is not None and nets:
        ax = axes[0, 1]
        rows = [x_test[:6]] + [n(x_test[:6]).detach() for n in nets.values()]
        tiles = torch.cat([torch.cat(list(r.reshape(-1, ae.SIDE, ae.SIDE)), dim=1) for r in rows], dim=0)
        ax.imshow(tiles.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_yticks([ae.SIDE * (k + 0.5) for k in range(len(rows))], ["input"] + list(nets))
        ax.set_xticks([])
        ax.set_title("test images and their reconstructions (seed 0)", fontsize=10)
    fig.tight_layout()
    return fig
