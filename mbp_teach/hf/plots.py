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


def loss_curves(runs: list[Run], target: float | None = None, title: str = "") -> Figure:
    """Full training loss against wall time and against gradient-equivalent passes."""
    fig, (a, b) = new_figure(1, 2, figsize=(11, 3.8))
    for k, r in enumerate(runs):
        a.semilogy(r.wall, r.loss, "-", color=f"C{k}", lw=1.5, label=r.name)
        b.semilogy(r.passes, r.loss, "-", color=f"C{k}", lw=1.5, label=r.name)
    for ax, xl in ((a, "wall time (s, shared 2-core CPU)"), (b, "gradient-equivalent passes over the data")):
        if target is not None:
            ax.axhline(target, color="k", ls=":", lw=1)
        ax.set_xlabel(xl)
        ax.set_ylabel("training loss (½ squared error per image)")
        ax.set_xscale("symlog", linthresh=1.0)
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
        a.plot(it, r.cg_iters, "-o", ms=3, color=f"C{k}", label=r.name)
        b.semilogy(it, r.loss, "-o", ms=3, color=f"C{k}", label=r.name)
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
        ax.plot(xy[:, 0], xy[:, 1], "-o", ms=2, lw=1, color=f"C{k}", label=f"{name} ({len(xy) - 1} its)")
    ax.plot([1], [1], "k*", ms=12)
    ax.plot([-1.2], [1], "ks", ms=5)
    ax.set_xlim(-2, 2)
    ax.set_ylim(-1, 3)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Rosenbrock from (-1.2, 1): level sets of log10 f", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def cg_condition_figure(curves: dict[float, torch.Tensor], bound: Callable[[float, np.ndarray], torch.Tensor]) -> Figure:
    """A-norm error of CG per iteration for several condition numbers, with the sqrt(kappa) bound dashed."""
    fig, (a, b) = new_figure(1, 2, figsize=(11, 3.8))
    for k, (kappa, err) in enumerate(curves.items()):
        i = np.arange(len(err))
        a.semilogy(i, err, color=f"C{k}", label=f"κ = {kappa:g}")
        a.semilogy(i, bound(kappa, i), "--", color=f"C{k}", lw=0.8)
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
