"""Figures of notebook 03: the toys' training side by side, and the relative-pose comparison."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from mbp_teach.minbackprop.report import GRADIENT_LABELS, ablation_gradients, budget_aucs, methods, runs_of
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


def _groups(result: dict) -> list[tuple[str, str, str, list[dict]]]:
    """(label, colour, line style, runs) per method of a ``compare`` result, or per gradient choice of an ``ablation``."""
    if "baseline_budgets" in result:
        return [(GRADIENT_LABELS[g], OKABE_ITO[g], STYLES[i % 3], [r for r in result["runs"] if r["gradient"] == g])
                for i, g in enumerate(ablation_gradients(result))]
    return [(m.label, f"C{i}", STYLES[i % 3], runs_of(result, m)) for i, m in enumerate(methods(result))]


def training_figure(result: dict):
    """Mean training error e per step for each backward, or each gradient choice of an ablation
    (median over seeds, band = min..max)."""
    fig, ax = new_figure(figsize=(6, 3.6), dpi=100)
    ablation = "baseline_budgets" in result
    for label, colour, style, runs in _groups(result):
        curves = [r["loss"] for r in runs]
        n = max(len(c) for c in curves)
        arr = np.full((len(curves), n), np.nan)
        for j, c in enumerate(curves):
            arr[j, : len(c)] = c
        k = np.arange(n)
        ax.plot(k, np.nanmedian(arr, 0), color=colour, lw=1.5, ls=style, label=label)
        ax.fill_between(k, np.nanmin(arr, 0), np.nanmax(arr, 0), color=colour, alpha=0.12)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean hypothesis error 1 - <E, E_true>^2")
    ax.set_title("training through five_point (median and range over seeds)", fontsize=10)
    ax.legend(title="gradient" if ablation else "backward", fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_figure(result: dict):
    """Recall of the pose error (share of pairs with error <= threshold) against the threshold, averaged over
    seeds, per method (or gradient choice), at the configuration's budget ``eval_hypotheses``."""
    fig, ax = new_figure(figsize=(6, 3.6), dpi=100)
    grid = np.linspace(0, 20, 201)

    def recall(err):
        e = np.sort(np.asarray(err, dtype=float))
        return np.searchsorted(e, grid, side="right") / len(e)

    for label, colour, style, runs in _groups(result):
        stable = [r for r in runs if r["failed_at"] is None]
        if stable:
            ax.plot(grid, np.mean([recall(r["errors"]["pose"]) for r in stable], 0), color=colour,
                    ls=style, lw=1.5, label=f"learned, {label}")
    ax.plot(grid, recall(result["baseline"]["pose"]), color="k", lw=1.5, label="uniform sampling")
    ax.set_xlabel("pose error threshold (degrees)")
    ax.set_ylabel("share of pairs below threshold")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, 20)
    ax.set_title(f"{result['config']['eval_hypotheses']} hypotheses per pair", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# Okabe & Ito's colour-blind-safe palette: black for uniform sampling, one hue per gradient choice
OKABE_ITO = {"uniform": "#000000", "score": "#0072B2", "pathwise": "#D55E00", "both": "#009E73"}
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # 1, 2, 4, ... rather than 2^0, 2^1, ...
MARKERS = {"uniform": "s", "score": "o", "pathwise": "v", "both": "^"}


def budget_figure(result: dict, threshold: float = 10.0, needed: tuple[int, int] | None = None):
    """AUC@threshold against the RANSAC budget (hypotheses per pair, log scale): uniform sampling, and for each
    gradient choice the median over seeds with a min..max band. ``needed``: a (low, high) range of budgets to
    shade, e.g. the hypotheses RANSAC theory asks for at the data's outlier fractions."""
    fig, ax = new_figure(figsize=(6.4, 3.8), dpi=100)
    if needed is not None:
        ax.axvspan(*needed, color="0.9", zorder=0, label=f"{needed[0]}-{needed[1]}: RANSAC's budget for 99 % confidence")
    uniform = budget_aucs(result, None, threshold)
    hs = np.array(sorted(uniform))
    ax.plot(hs, [uniform[h][0] for h in hs], color=OKABE_ITO["uniform"], marker=MARKERS["uniform"], ms=4,
            lw=1.5, label="uniform sampling")
    for g in ablation_gradients(result):
        per = budget_aucs(result, g, threshold)
        h = np.array(sorted(per))
        if not len(h):
            continue
        vals = [np.asarray(per[k]) for k in h]
        ax.plot(h, [np.median(v) for v in vals], color=OKABE_ITO[g], marker=MARKERS[g], ms=4, lw=1.5,
                label=f"learned: {GRADIENT_LABELS[g]}")
        ax.fill_between(h, [v.min() for v in vals], [v.max() for v in vals], color=OKABE_ITO[g], alpha=0.18, lw=0)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(PLAIN)
    ax.set_xlabel("RANSAC budget (hypotheses = minimal sets per pair)")
    ax.set_ylabel(f"AUC@{threshold:g}° of the pose error (0 to 1)")
    ax.set_ylim(0, 1)
    n_seeds = len({r["seed"] for r in result["runs"]})
    ax.set_title(f"learned: median and range over {n_seeds} seeds", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
