"""Table and figures of the equal-budget comparison (``experiments.hf_fair``), drawn from its stored result.

``result`` is the dict written to figures/06_fair.json: ``config`` and ``problems[name]`` with, per
method, ``chosen`` (index into ``config.settings[method]``), ``final`` (settings x seeds: training loss
at the pass budget), ``runs`` (the chosen setting's curves per seed: loss, passes, cpu), ``at_cpu``
(training loss at the problem's common ``cpu_budget``) and ``extras`` (test error, reconstructions).
"""

from __future__ import annotations

import numpy as np

from mbp_teach.plotting import new_figure

# Okabe-Ito, with a line style each so that the methods differ without colour too
STYLE = {"HF": ("#D55E00", "-"), "SGD + momentum": ("#0072B2", "--"), "Adam": ("#009E73", "-."),
         "L-BFGS": ("#CC79A7", ":")}


def setting_label(method: str, setting: dict) -> str:
    if method == "HF":
        return f"λ0 = {setting['damping']:g}, CG ≤ {setting['max_cg']}"
    return f"lr = {setting['lr']:g}"


def summary(result: dict, problem: str, method: str) -> dict:
    """Median, min and max over seeds of the training loss at the pass and CPU budgets, and of the test error."""
    entry = result["problems"][problem]
    m = entry["methods"][method]
    chosen = m["chosen"]
    at_pass = np.asarray(m["final"][chosen])
    at_cpu = np.asarray(m["at_cpu"])
    out = dict(setting=result["config"]["settings"][method][chosen], passes=_stats(at_pass), cpu=_stats(at_cpu))
    tests = [e["test"] for e in m["extras"] if "test" in e]
    if tests:
        out["test"] = _stats(np.asarray(tests))
    return out


def _stats(values: np.ndarray) -> tuple[float, float, float]:
    return float(np.median(values)), float(np.min(values)), float(np.max(values))


def _cell(s: tuple[float, float, float]) -> str:
    return f"{s[0]:.3g} ({s[1]:.3g}–{s[2]:.3g})"


def markdown_table(result: dict) -> str:
    """One row per problem and method: the chosen setting, training loss at the pass budget and at the common
    CPU budget, test error (digits): median (min–max) over seeds."""
    cfg = result["config"]
    lines = [f"| problem | method (chosen setting) | training loss at {cfg['budget_passes']:g} passes | "
             "training loss at equal CPU time | test error |", "|---|---|---|---|---|"]
    for name, entry in result["problems"].items():
        for method in entry["methods"]:
            s = summary(result, name, method)
            test = _cell(s["test"]) if "test" in s else "–"
            lines.append(f"| {name} (CPU {entry['cpu_budget']:.1f} s) | {method} ({setting_label(method, s['setting'])}) | "
                         f"{_cell(s['passes'])} | {_cell(s['cpu'])} | {test} |")
    return "\n".join(lines)


def curves_figure(result: dict):
    """Training loss against passes (top row) and CPU seconds (bottom row), one column per problem: the median
    over seeds (thick) and each seed (thin), the chosen setting of each method; the common start marked."""
    names = list(result["problems"])
    fig, axes = new_figure(2, len(names), figsize=(3.6 * len(names), 6.2), squeeze=False)
    for j, name in enumerate(names):
        entry = result["problems"][name]
        for i, cost in enumerate(("passes", "cpu")):
            ax = axes[i][j]
            start = entry["methods"]["HF"]["runs"][0]["loss"][0]
            for method, m in entry["methods"].items():
                colour, ls = STYLE[method]
                for r in m["runs"]:
                    ax.plot(r[cost], r["loss"], color=colour, ls=ls, lw=0.6, alpha=0.5)
                grid, med = _median_curve(m["runs"], cost)
                ax.plot(grid, med, color=colour, ls=ls, lw=2, label=method)
            ax.plot([0], [start], "ko", ms=5, label="common start" if j == 0 and i == 0 else None)
            if cost == "cpu":
                ax.axvline(entry["cpu_budget"], color="0.4", lw=0.8, ls=":")
                ax.set_xlim(0, 2.5 * entry["cpu_budget"])
            ax.set_yscale("log")
            ax.set_xlabel("gradient-equivalent passes" if cost == "passes" else "CPU seconds (shared machine)")
            if j == 0:
                ax.set_ylabel("training loss (½ SSE per image)")
            ax.set_title(name, fontsize=10)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _median_curve(runs: list[dict], cost: str, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """The median over runs of 'loss reached by cost c' (each run read as a step function) on a common grid."""
    end = min(r[cost][-1] for r in runs)
    grid = np.linspace(0, end, points)
    values = [np.asarray(r["loss"])[np.searchsorted(r[cost], grid, "right") - 1] for r in runs]
    return grid, np.median(values, axis=0)


def reconstructions_figure(result: dict):
    """Test digits (top row) and their reconstructions by each method's chosen run (seed 0) on each digits problem."""
    names = [n for n, e in result["problems"].items() if "images" in e]
    methods = list(result["config"]["settings"])
    shown = result["config"]["shown"]
    rows = 1 + len(names) * len(methods)
    fig, axes = new_figure(rows, shown, figsize=(0.75 * shown + 1.8, 0.75 * rows), squeeze=False)
    images = result["problems"][names[0]]["images"]
    labels = ["test images"] + [f"{n.split(', ')[1]}: {m}" for n in names for m in methods]
    pictures = [images] + [result["problems"][n]["methods"][m]["extras"][0]["recon"] for n in names for m in methods]
    for i, (label, pics) in enumerate(zip(labels, pictures, strict=True)):
        for k in range(shown):
            ax = axes[i][k]
            ax.imshow(np.asarray(pics[k]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def regimes_figure(result: dict):
    """Left: mean Gauss-Newton curvature per weight matrix at initialisation (input side first) per problem,
    median over seeds. Right: the top Lanczos Ritz values of G per problem."""
    fig, (ax_l, ax_r) = new_figure(1, 2, figsize=(10, 3.8))
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]
    styles = ["-", "--", "-.", ":", "-"]
    for k, (name, entry) in enumerate(result["problems"].items()):
        curv = np.median([s["layer_curvature"] for s in entry["spectrum"]], axis=0)
        ax_l.semilogy(np.arange(1, len(curv) + 1), curv, "o", color=colours[k % 5], ls=styles[k % 5], label=name)
        ritz = np.asarray(entry["spectrum"][0]["ritz"])
        ax_r.semilogx(ritz, np.full(ritz.shape, k), "|", color=colours[k % 5], ms=14)
        mean = entry["spectrum"][0]["trace"] / entry["spectrum"][0]["dim"]
        ax_r.semilogx([mean], [k], "v", color=colours[k % 5], ms=8)
    ax_l.set_xlabel("weight matrix (1 = input side)")
    ax_l.set_ylabel("mean GN curvature tr G_ll / P_l")
    ax_l.legend(fontsize=8)
    names = list(result["problems"])
    ax_r.set_yticks(range(len(names)), names)
    ax_r.set_xlabel("eigenvalue of G (|: top Lanczos Ritz values, ▼: mean tr G / P)")
    fig.tight_layout()
    return fig
