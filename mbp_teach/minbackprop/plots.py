"""Figures of notebook 03: the toys' training side by side, and the relative-pose comparison."""

from __future__ import annotations

import numpy as np

from mbp_teach.minbackprop.report import methods, runs_of
from mbp_teach.minbackprop.toys import WeightHistory
from mbp_teach.plotting import new_figure

STYLES = ("-", "--", ":")


def toy_figure(histories: list[WeightHistory], outlier: int, ylabel: str, title: str):
    """One column per backward: effective weights per step (top), loss per step, log scale (bottom)."""
    n = len(histories)
    fig, axes = new_figure(2, n, figsize=(3.6 * n, 5.0), dpi=100, sharex=True, squeeze=False)
    for j, h in enumerate(histories):
        w = np.asarray(h.weights)
        ks = np.arange(len(w))
        top, bottom = axes[0, j], axes[1, j]
        for i in range(w.shape[1]):
            if i != outlier:
                top.plot(ks, w[:, i], color="C0", lw=1, alpha=0.6)
        top.plot(ks, w[:, outlier], color="C3", lw=2, label="outlier")
        top.set_title(f"{title}, backward={h.backward}", fontsize=9)
        top.set_ylabel("weight relu(w)^2")
        top.legend(fontsize=8, loc="center right")
        loss = np.maximum(np.abs(np.asarray(h.loss)), 1e-17)
        bottom.semilogy(np.arange(len(loss)), loss, "-o", ms=2.5, color="k")
        bottom.set_xlabel("SGD step")
        bottom.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def training_figure(result: dict):
    """Mean training error e per step for each backward (median over seeds, band = min..max)."""
    fig, ax = new_figure(figsize=(6, 3.6), dpi=100)
    for i, m in enumerate(methods(result)):
        curves = [r["loss"] for r in runs_of(result, m)]
        n = max(len(c) for c in curves)
        arr = np.full((len(curves), n), np.nan)
        for j, c in enumerate(curves):
            arr[j, : len(c)] = c
        k = np.arange(n)
        ax.plot(k, np.nanmedian(arr, 0), color=f"C{i}", lw=1.5, ls=STYLES[i % 3], label=m.label)
        ax.fill_between(k, np.nanmin(arr, 0), np.nanmax(arr, 0), color=f"C{i}", alpha=0.12)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean hypothesis error 1 - <E, E_true>^2")
    ax.set_title("training through five_point (median and range over seeds)", fontsize=10)
    ax.legend(title="backward")
    fig.tight_layout()
    return fig


def accuracy_figure(result: dict):
    """Recall of the pose error (share of pairs with error <= threshold) against the threshold."""
    fig, ax = new_figure(figsize=(6, 3.6), dpi=100)
    grid = np.linspace(0, 20, 201)

    def recall(err):
        e = np.sort(np.asarray(err, dtype=float))
        return np.searchsorted(e, grid, side="right") / len(e)

    for i, m in enumerate(methods(result)):
        stable = [r for r in runs_of(result, m) if r["failed_at"] is None]
        if stable:
            ax.plot(grid, np.mean([recall(r["errors"]["pose"]) for r in stable], 0), color=f"C{i}",
                    ls=STYLES[i % 3], lw=1.5, label=f"learned, {m.label}")
    ax.plot(grid, recall(result["baseline"]["pose"]), color="k", lw=1.5, label="uniform sampling")
    ax.set_xlabel("pose error threshold (degrees)")
    ax.set_ylabel("share of pairs below threshold")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, 20)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
