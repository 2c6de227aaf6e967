"""Figures of notebook 05: a DAG network's wiring (``draw_dag``), monotonicity violations of
adaptive momentum against tau, gradient smoothness against depth, and the autoencoders' training
curves. Each function returns its figure (``draw_dag`` can also draw into axes it is given).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from mbp_teach.momentum import autoencoder as ae
from mbp_teach.momentum.dagnet import DAGNet
from mbp_teach.plotting import new_figure

# Okabe-Ito: distinguishable with every common colour-vision deficiency; line styles double the cue.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
STYLES = ("-", "--", "-.", ":")


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
    """Three panels against tau: steps where E increases, the first such step, and the final error
    (every seed a dot, the median a line); the two step axes have integer ticks."""
    fig, (a, b, c) = new_figure(1, 3, figsize=(14.0, 3.7))
    taus = np.asarray(taus)
    count, first, final = sweep["count"], sweep["first"], sweep["final"]
    n = count.shape[0]
    for s in range(n):
        a.plot(taus, count[s], "o", ms=4, color=OKABE_ITO[0], alpha=0.5)
    a.plot(taus, np.median(count, axis=0), "-", color=OKABE_ITO[0], label=f"median over {n} seeds")
    a.set_xlabel("momentum factor τ")
    a.set_ylabel(f"steps where E increases (of {steps})")
    a.set_title(f"monotonicity violations, η = {eta:g}", fontsize=10)
    a.legend(fontsize=8)
    hit = np.where(first >= 0, first + 1, np.nan)  # step k + 1 is the first with a larger error
    for s in range(n):
        b.plot(taus, hit[s], "o", ms=4, color=OKABE_ITO[1], alpha=0.6)
    b.set_xlabel("momentum factor τ")
    b.set_ylabel("first step k with E(w_k) > E(w_k-1)")
    b.set_title("where monotone decrease first fails (no dot: never)", fontsize=10)
    b.set_xlim(a.get_xlim())
    shown = np.clip(final, None, 1e6)  # a blown-up run is drawn at the top edge
    for s in range(n):
        c.semilogy(taus, shown[s], "o", ms=4, color=OKABE_ITO[2], alpha=0.6)
    c.semilogy(taus, np.median(shown, axis=0), "-", color=OKABE_ITO[2], label=f"median over {n} seeds")
    c.axhline(np.median(shown[:, 0]), color="0.4", ls=":", lw=1, label=f"median at τ = {taus[0]:g}")
    c.set_xlabel("momentum factor τ")
    c.set_ylabel(f"error E after {steps} steps")
    c.set_title("where training ends (log scale)", fontsize=10)
    c.legend(fontsize=8)
    for ax in (a, b):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def skip_depth_figure(depths, corr: dict[str, np.ndarray], grads: dict[str, np.ndarray], norms: dict[str, np.ndarray],
                      x: np.ndarray):
    """Three panels: correlation against depth; f'(x) of the deepest nets; per-layer gradient norms."""
    fig, axes = new_figure(1, 3, figsize=(14.0, 3.9))
    for k, name in enumerate(corr):
        c = corr[name]
        col, ls = OKABE_ITO[k], STYLES[k % len(STYLES)]
        axes[0].plot(depths, np.median(c, axis=0), marker="o", ls=ls, ms=4, color=col, label=name)
        axes[0].fill_between(depths, c.min(axis=0), c.max(axis=0), color=col, alpha=0.15)
        g = grads[name]
        axes[1].plot(x, g / np.abs(g).max(), color=col, ls=ls, lw=1, label=name)
        axes[2].semilogy(np.arange(1, len(norms[name]) + 1), norms[name], marker="o", ls=ls, ms=3, color=col,
                         label=name)
    axes[0].set_xlabel("depth (hidden layers)")
    axes[0].set_ylabel("corr(f'(x_i), f'(x_i+1))")
    axes[0].set_title("gradient smoothness (median, band: min–max over seeds)", fontsize=9)
    axes[0].axhline(0.0, color="0.6", lw=0.8)
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("input x")
    axes[1].set_ylabel("f'(x) / max |f'|  (normalised)")
    axes[1].set_title(f"input-gradient of a depth-{max(depths)} net", fontsize=9)
    axes[1].legend(fontsize=7)
    axes[2].set_xlabel("layer j (1 = next to the input)")
    axes[2].set_ylabel("||dE/dθ_j||  (log scale)")
    axes[2].set_title(f"per-layer gradient norm, depth {max(depths)}", fontsize=9)
    axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].legend(fontsize=7)
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


def curves_figure(curves: dict[str, np.ndarray], ylabel: str, title: str, ax=None, log: bool = True):
    """Error against step for several methods: median over seeds (line) and min-max band.

    ``curves``: {name: array (seeds, steps + 1)}; non-finite values (blown-up runs) are drawn at the top."""
    if ax is None:
        fig, ax = new_figure(figsize=(6.5, 3.8))
    else:
        fig = ax.figure
    for k, (name, c) in enumerate(curves.items()):
        c = np.where(np.isfinite(c), c, np.nanmax(np.where(np.isfinite(c), c, np.nan)))
        ks = np.arange(c.shape[1])
        col, ls = OKABE_ITO[k % len(OKABE_ITO)], STYLES[k % len(STYLES)]
        ax.plot(ks, np.median(c, axis=0), color=col, ls=ls, lw=1.8, label=f"{name} (median of {c.shape[0]})")
        ax.fill_between(ks, c.min(axis=0), c.max(axis=0), color=col, alpha=0.15, lw=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step k (one full-batch gradient each)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return fig


def reconstructions_figure(x: torch.Tensor, nets: dict, n: int = 8, side: int = 8,
                           title: str = "test digits and their reconstructions (seed 0)"):
    """Rows: n test images (n, side * side) in [0, 1], then each net's reconstruction of them.

    ``nets``: {name: DAGNet, or stored reconstructions of x[:n] (a tensor or nested list (n, side * side))}."""
    fig, ax = new_figure(figsize=(1.0 + 0.7 * n, 0.9 + 0.7 * (1 + len(nets))))
    with torch.no_grad():
        rows = [x[:n]] + [net(x[:n]) if isinstance(net, DAGNet) else torch.as_tensor(net, dtype=x.dtype)[:n]
                          for net in nets.values()]
    tiles = torch.cat([torch.cat(list(r.reshape(-1, side, side)), dim=1) for r in rows], dim=0)
    ax.imshow(tiles.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([side * (k + 0.5) for k in range(len(rows))], ["input"] + list(nets))
    ax.set_xticks([])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def deep_training_figure(deep: dict, depth: int, seeds: int):
    """Training error of the deep nets (``dag_training`` part deep): median and min-max band per variant at its
    best step size. A variant that diverged at every step size of the grid has no curve: it is listed in the
    legend with a cross, and the text says so, so that its overflowed values do not set the y-axis."""
    fig, ax = new_figure(figsize=(6.5, 3.8))
    for k, (name, v) in enumerate(deep.items()):
        col, ls = OKABE_ITO[k % len(OKABE_ITO)], STYLES[k % len(STYLES)]
        if v["diverged_everywhere"]:
            etas = ", ".join(f"{float(e):g}" for e in v["diverged_seeds_per_eta"])
            ax.plot([], [], "x", color=col, ms=8, label=f"{name}: diverged at every η ({etas})")
            continue
        c = np.array(v["curves"], dtype=float)
        ok = np.isfinite(c).all(axis=1) & (c < 1e300).all(axis=1)
        c = c[ok]
        ks = np.arange(c.shape[1])
        lost = "" if ok.all() else f", {int((~ok).sum())} diverged"
        ax.plot(ks, np.median(c, axis=0), color=col, ls=ls, lw=1.8,
                label=f"{name}, η = {v['eta']:g} (median of {c.shape[0]}{lost})")
        ax.fill_between(ks, c.min(axis=0), c.max(axis=0), color=col, alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("step k (one full-batch gradient each)")
    ax.set_ylabel("training error E(w_k)")
    ax.set_title(f"depth {depth} tanh nets on sin 2x: best η of the grid per variant, {seeds} seeds", fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7)
    return fig
