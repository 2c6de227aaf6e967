"""Figures of the HF notebooks (built with interactive mode off, returned to the caller)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mbp_teach.hf.compare import Run
from mbp_teach.hf.problems import rosenbrock
from mbp_teach.plotting import new_figure

# Okabe & Ito's colour-blind-safe palette, with a line style each so that curves also differ in grey print
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
STYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2))]


def style(k: int) -> dict:
    """Colour and line style of the k-th curve of a figure."""
    return dict(color=PALETTE[k % len(PALETTE)], ls=STYLES[k % len(STYLES)])


def loss_curves(runs: list[Run], target: float | None = None, title: str = "") -> Figure:
    """Full training loss against wall time and against gradient-equivalent passes, every run drawn from its
    starting loss at 0 (x-axes symlog: linear on [0, 1], logarithmic above, no negative ticks)."""
    fig, (a, b) = new_figure(1, 2, figsize=(11, 3.8))
    for k, r in enumerate(runs):
        head = [r.start_loss] if r.start_loss is not None else []
        zero = [0.0] if head else []
        a.semilogy(zero + list(r.wall), head + list(r.loss), lw=1.5, label=r.name, **style(k))
        b.semilogy(zero + list(r.passes), head + list(r.loss), lw=1.5, label=r.name, **style(k))
    for ax, xl, right in ((a, "wall time (s, shared 2-core CPU)", max((r.wall[-1] for r in runs if r.wall), default=1)),
                          (b, "gradient-equivalent passes over the data",
                           max((r.passes[-1] for r in runs if r.passes), default=1))):
        if target is not None:
            ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:g}")
        ax.set_xlabel(xl + " (linear below 1, log above)")
        ax.set_ylabel("training loss (½ squared error per image)")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, 1.3 * right)
    b.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def cg_per_iteration(runs: list[Run], target: float | None = None) -> Figure:
    """CG iterations of each HF iteration and the training loss, per HF iteration."""
    fig, (a, b) = new_figure(1, 2, figsize=(11, 3.6))
    for k, r in enumerate(runs):
        it = np.arange(1, len(r.cg_iters) + 1)
        a.plot(it, r.cg_iters, marker="o", ms=3, label=r.name, **style(k))
        b.semilogy(it, r.loss, marker="o", ms=3, label=r.name, **style(k))
    a.set_xlabel("HF iteration")
    a.set_ylabel("CG iterations")
    b.set_xlabel("HF iteration")
    b.set_ylabel("training loss")
    if target is not None:
        b.axhline(target, color="k", ls=":", lw=1)
    a.legend(fontsize=8)
    fig.tight_layout()
    return fig


def draw_rosenbrock_levels(ax: Axes, points: int = 240, color: str = "0.75") -> None:
    """15 level sets of log10(f + 1e-3), f = Rosenbrock, on [-2, 2] x [-1, 3] (a points x points grid), on ``ax``."""
    xs, ys = np.linspace(-2, 2, points), np.linspace(-1, 3, points)
    X, Y = np.meshgrid(xs, ys)
    Z = rosenbrock(torch.from_numpy(np.stack([X, Y], -1))).numpy()
    ax.contour(X, Y, np.log10(Z + 1e-3), levels=15, colors=color, linewidths=0.6)


def rosenbrock_figure(paths: dict[str, torch.Tensor]) -> Figure:
    """Paths of several optimisers (name -> (k, 2) iterates) over log-spaced level sets of Rosenbrock."""
    fig, ax = new_figure(figsize=(7, 4.6))
    draw_rosenbrock_levels(ax)
    for k, (name, path) in enumerate(paths.items()):
        xy = np.asarray(path)
        ax.plot(xy[:, 0], xy[:, 1], marker="o", ms=2, lw=1, label=f"{name} ({len(xy) - 1} its)", **style(k))
    ax.plot([1], [1], "k*", ms=12)
    ax.plot([-1.2], [1], "ks", ms=5)
    ax.set_xlim(-2, 2)
    ax.set_ylim(-1, 3)
    ax.set_xlabel("x (dimensionless)")
    ax.set_ylabel("y (dimensionless)")
    ax.set_title("Rosenbrock from (-1.2, 1): level sets of log10 f", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def cg_condition_figure(curves: dict[float, torch.Tensor], bound: Callable[[float, np.ndarray], torch.Tensor]) -> Figure:
    """A-norm error of CG per iteration for several condition numbers, with the sqrt(kappa) bound dashed."""
    fig, (a, b) = new_figure(1, 2, figsize=(11, 3.8))
    for k, (kappa, err) in enumerate(curves.items()):
        i = np.arange(len(err))
        a.semilogy(i, err, color=PALETTE[k], label=f"κ = {kappa:g}")
        a.semilogy(i, bound(kappa, i), "--", color=PALETTE[k], lw=0.8)
    a.set_ylim(1e-10, 3)
    a.set_xlabel("CG iteration i")
    a.set_ylabel("‖x_i − x*‖_A / ‖x*‖_A")
    a.legend(fontsize=8)
    a.set_title("solid: CG, dashed: 2((√κ−1)/(√κ+1))^i", fontsize=9)
    kap = np.array(list(curves))
    its = np.array([int(np.argmax(np.asarray(e) <= 1e-6)) for e in curves.values()])
    b.loglog(kap, its, "o-", label="measured, to 1e-6")
    b.loglog(kap, np.sqrt(kap) * 0.5 * np.log(2e6), "k--", label="bound: ½ √κ ln(2·10⁶)")
    b.set_xlabel("condition number κ")
    b.set_ylabel("CG iterations to 1e-6")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig
