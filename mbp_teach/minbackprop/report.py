"""The results table and figures of a relative-pose comparison (``train.compare`` output).

The table follows the paper's: per method (``train.Method``: backward mode and null space),
stable runs out of the seeds tried, backward time per step, and the accuracy of the pose
estimated with the learned sampler (medians of the rotation and translation errors, AUC of the
pose error at 5/10/20 degrees), next to the no-learning baseline (uniform sampling). Accuracy is
averaged over the stable runs only.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import torch

from mbp_teach.minbackprop.pose import pose_auc
from mbp_teach.minbackprop.train import GRADIENTS, Method, summarise

METRICS = ("rotation_median", "translation_median", "auc5", "auc10", "auc20")


def methods(result: dict) -> list[Method]:
    """The methods of ``result["runs"]``, in the order trained."""
    return list(dict.fromkeys(Method(r["backward"], r["null_space"]) for r in result["runs"]))


def runs_of(result: dict, method: Method) -> list[dict]:
    """The runs (dicts) of ``result`` trained with ``method``."""
    return [r for r in result["runs"] if (r["backward"], r["null_space"]) == method]


def rows(result: dict) -> list[dict]:
    """One dict per method (in the order trained) and a final one for the baseline."""
    out = []
    for method in methods(result):
        runs = runs_of(result, method)
        stable = [r for r in runs if r["failed_at"] is None]
        row = {"method": f"learned, {method.label}", "backward": method.backward, "null_space": method.null_space,
               "stable": len(stable), "runs": len(runs),
               "backward_ms": _median_ms([t for r in runs for t in r["backward_seconds"]]),
               "solver_ms": _median_ms([t for r in runs for t in r["solver_seconds"]]),
               "backward_cpu_ms": _median_ms([t for r in runs for t in r.get("backward_cpu_seconds", [])]),
               "flagged": sum(r.get("flagged", 0) for r in runs)}
        summaries = [summarise(r["errors"]) for r in stable]
        for m in METRICS:
            row[m] = float(np.mean([s[m] for s in summaries])) if summaries else float("nan")
        out.append(row)
    base: dict[str, Any] = {"method": "no learning (uniform sampling)", "backward": "-", "null_space": "-",
                            "stable": None, "runs": None, "backward_ms": None, "solver_ms": None,
                            "backward_cpu_ms": None, "flagged": None}
    base.update(summarise(result["baseline"]))
    out.append(base)
    return out


def _median_ms(seconds: list[float]) -> float:
    return 1e3 * statistics.median(seconds) if seconds else float("nan")


def _cell(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and np.isnan(v):
        return "n/a"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def markdown(result: dict, timings: bool = True) -> str:
    """The table as Markdown; ``timings=False`` leaves the (run-to-run variable) times out."""
    times = ["backward ms/step", "backward CPU ms/step", "solver share ms/step"] if timings else []
    head = ["method", "stable runs"] + times + [
        "median rot. err (deg)", "median transl. err (deg)", "AUC@5", "AUC@10", "AUC@20"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows(result):
        stable = "-" if r["runs"] is None else f"{r['stable']}/{r['runs']}"
        cells = [r["method"], stable]
        if timings:
            cells += [_cell(r["backward_ms"]), _cell(r["backward_cpu_ms"]), _cell(r["solver_ms"])]
        cells += [_cell(r[m]) for m in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the gradient ablation (``train.ablation`` output): statistics over seeds ---

GRADIENT_LABELS = {"score": "score function only", "pathwise": "pathwise (through the solver) only",
                   "both": "both (MinBackProp)"}


def auc(errors, threshold: float = 10.0) -> float:
    """AUC@threshold (degrees) of a list of pose errors."""
    return float(pose_auc(torch.tensor(errors, dtype=torch.float64), (threshold,))[0])


def spread(values) -> tuple[float, float, float]:
    """(median, min, max) of a list of numbers (nan for an empty one)."""
    if not values:
        return (float("nan"),) * 3
    return float(statistics.median(values)), float(min(values)), float(max(values))


def ablation_gradients(result: dict) -> list[str]:
    """The gradient choices of an ablation, in the order of ``train.GRADIENTS``."""
    present = {r["gradient"] for r in result["runs"]}
    return [g for g in GRADIENTS if g in present]


def budget_aucs(result: dict, gradient: str | None, threshold: float = 10.0) -> dict[int, list[float]]:
    """Budget -> AUC@threshold per stable seed of ``gradient`` (None: uniform sampling, one value)."""
    if gradient is None:
        return {int(h): [auc(e, threshold)] for h, e in result["baseline_budgets"].items()}
    out: dict[int, list[float]] = {}
    for r in result["runs"]:
        if r["gradient"] == gradient and r["failed_at"] is None:
            for h, e in r["budget_errors"].items():
                out.setdefault(int(h), []).append(auc(e, threshold))
    return dict(sorted(out.items()))


def _at_budget(budget_errors: dict, errors: dict, h: int) -> list[float]:
    """Pose errors at budget h: from the budget curve when it has h (so a table and the curve agree), else the
    plain evaluation's. JSON turns the curve's integer keys into strings; both are accepted."""
    for key in (h, str(h)):
        if key in budget_errors:
            return budget_errors[key]
    return errors["pose"]


def ablation_rows(result: dict, threshold: float = 10.0) -> list[dict]:
    """Per gradient choice: stable runs, AUC@threshold per seed at the training configuration's budget, its
    median and range, and the seeds where it beats uniform sampling; a last row for uniform sampling."""
    h = result["config"]["eval_hypotheses"]
    base = auc(_at_budget(result.get("baseline_budgets", {}), result["baseline"], h), threshold)
    out = []
    for g in ablation_gradients(result):
        runs = [r for r in result["runs"] if r["gradient"] == g]
        values = [auc(_at_budget(r.get("budget_errors", {}), r["errors"], h), threshold)
                  for r in runs if r["failed_at"] is None]
        median, lo, hi = spread(values)
        out.append({"gradient": g, "label": GRADIENT_LABELS[g], "stable": len(values), "runs": len(runs),
                    "aucs": values, "median": median, "min": lo, "max": hi,
                    "above_uniform": sum(v > base for v in values)})
    out.append({"gradient": None, "label": "no learning (uniform sampling)", "stable": None, "runs": None,
                "aucs": [base], "median": base, "min": base, "max": base, "above_uniform": None})
    return out


def ablation_markdown(result: dict, threshold: float = 10.0, digits: int = 2) -> str:
    """The ablation at the training configuration's budget: median and range of AUC@threshold over seeds."""
    h = result["config"]["eval_hypotheses"]
    lines = [f"| gradient that trains the filter | stable runs | AUC@{threshold:g}, median over seeds | range "
             f"| seeds above uniform |", "|---|---|---|---|---|"]
    for r in ablation_rows(result, threshold):
        stable = "-" if r["runs"] is None else f"{r['stable']}/{r['runs']}"
        rng = "-" if r["runs"] is None else f"{r['min']:.{digits}f} to {r['max']:.{digits}f}"
        above = "-" if r["above_uniform"] is None else f"{r['above_uniform']}/{r['stable']}"
        lines.append(f"| {r['label']} | {stable} | {r['median']:.{digits}f} | {rng} | {above} |")
    return f"RANSAC budget {h} hypotheses per pair, backward {result['backward']}\n\n" + "\n".join(lines)


def budget_markdown(result: dict, threshold: float = 10.0, digits: int = 2) -> str:
    """AUC@threshold against the number of RANSAC hypotheses: uniform, and each gradient's median [range]."""
    grads = ablation_gradients(result)
    uniform = budget_aucs(result, None, threshold)
    learned = {g: budget_aucs(result, g, threshold) for g in grads}
    lines = ["| hypotheses per pair | uniform | " + " | ".join(GRADIENT_LABELS[g] for g in grads) + " |",
             "|---|---|" + "---|" * len(grads)]
    for h, (u,) in uniform.items():
        cells = []
        for g in grads:
            m, lo, hi = spread(learned[g].get(h, []))
            cells.append(f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]")
        lines.append(f"| {h} | {u:.{digits}f} | " + " | ".join(cells) + " |")
    return f"AUC@{threshold:g}: uniform sampling, and learned sampling's median [min, max] over seeds\n\n" + "\n".join(lines)
