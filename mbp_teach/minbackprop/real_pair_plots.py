"""Figure and table of the learned filter on the real stereo pair (``experiments.real_pairs`` output)."""

from __future__ import annotations

import numpy as np

from mbp_teach.minbackprop.real_pairs import summary
from mbp_teach.minbackprop.report import spread
from mbp_teach.plotting import new_figure

# Okabe-Ito colours, one line style and marker each, so the curves differ without colour too
GROUPS = {"uniform": ("uniform sampling", "#000000", "-", "o"),
          "short": ("filter, notebook's short training", "#0072B2", "--", "s"),
          "full": ("filter, full training", "#009E73", ":", "^")}


def aucs(result: dict, group: str) -> dict[int, list[float]]:
    """Budget -> AUC@10 of the pose error, one value per filter seed (per uniform seed for "uniform")."""
    rows = result["uniform"] if group == "uniform" else [f for f in result["filters"] if f["config"] == group]
    out: dict[int, list[float]] = {}
    for row in rows:
        for h, errors in row["curve"].items():
            out.setdefault(int(h), []).append(summary(errors)["auc"])
    return dict(sorted(out.items()))


def groups(result: dict) -> list[str]:
    """The groups present in ``result``: uniform first, then the filters' configurations."""
    present = {f["config"] for f in result["filters"]}
    return ["uniform"] + [g for g in ("short", "full") if g in present]


def budget_figure(result: dict):
    """AUC@10 of RANSAC's pose error against the budget (minimal sets per run): median over seeds, band = range."""
    fig, ax = new_figure(figsize=(6.4, 3.8), dpi=100)
    for g in groups(result):
        label, colour, style, marker = GROUPS[g]
        curve = aucs(result, g)
        hs = list(curve)
        vals = [np.asarray(curve[h]) for h in hs]
        ax.plot(hs, [np.median(v) for v in vals], color=colour, ls=style, marker=marker, ms=4, lw=1.5,
                label=f"{label} ({len(vals[0])} seeds)")
        ax.fill_between(hs, [v.min() for v in vals], [v.max() for v in vals], color=colour, alpha=0.15, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(result["budgets"], [str(h) for h in result["budgets"]])
    ax.set_xlabel("RANSAC budget (minimal sets per run)")
    ax.set_ylabel("AUC@10 of the pose error")
    ax.set_ylim(0, 1)
    ax.set_title(f"motorcycle pair, {result['runs']} RANSAC runs per seed and budget", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def markdown(result: dict, digits: int = 2) -> str:
    """AUC@10 per budget (median [min, max] over seeds), then the filters' precision and recall."""
    present = groups(result)
    curves = {g: aucs(result, g) for g in present}
    lines = ["| minimal sets per run | " + " | ".join(GROUPS[g][0] for g in present) + " |",
             "|---|" + "---|" * len(present)]
    for h in result["budgets"]:
        cells = []
        for g in present:
            m, lo, hi = spread(curves[g][h])
            cells.append(f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]")
        lines.append(f"| {h} | " + " | ".join(cells) + " |")
    lines += ["", "| filter | precision of the top half | recall | matches it draws from (perplexity) |",
              "|---|---|---|---|"]
    for g in present[1:]:
        rows = [f for f in result["filters"] if f["config"] == g]
        p, r, x = (spread([f[k] for f in rows]) for k in ("precision", "recall", "perplexity"))
        lines.append(f"| {GROUPS[g][0]} | {p[0]:.{digits}f} [{p[1]:.{digits}f}, {p[2]:.{digits}f}] | "
                     f"{r[0]:.{digits}f} [{r[1]:.{digits}f}, {r[2]:.{digits}f}] | {x[0]:.0f} [{x[1]:.0f}, {x[2]:.0f}] |")
    return "AUC@10 of the pose error: median [min, max] over seeds\n\n" + "\n".join(lines)
