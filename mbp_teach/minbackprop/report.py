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

from mbp_teach.minbackprop.train import Method, summarise

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
