"""Results of ``python -m mbp_teach.experiments hf_sampling`` read back for notebook 07 and its lab.

The JSON files under figures/ hold every run (loss, passes, CPU seconds, CG iterations, sample sizes per HF
iteration); ``speedups`` turns the variants' runs into per-seed ratios against plain HF on the same seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mbp_teach.hf.compare import Run, curves_autoencoder_objective
from mbp_teach.notebook import figures_dir

COMMAND = "python -m mbp_teach.experiments hf_sampling"


def load(name: str, folder: Path | None = None) -> dict:
    """figures/<name>.json; a clear error naming the command that writes it when it is missing."""
    path = (folder or figures_dir()) / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"{path} is missing: run {COMMAND} to make it")
    return json.loads(path.read_text())


def as_run(record: dict) -> Run:
    """A stored run as a ``compare.Run`` (``start_loss``: the full training loss before the first iteration)."""
    return Run(record["name"], loss=record["loss"], wall=record["wall"], cpu=record["cpu"], passes=record["passes"],
               cg_iters=record["cg_iters"], samples=record["samples"], start_loss=record.get("start_loss"))


def fill_start_loss(result: dict) -> dict:
    """Add the starting loss to runs stored without it: the loss of seed s's initial network on its images
    (deterministic: one forward pass per seed)."""
    cache: dict[int, float] = {}
    for rec in result["runs"]:
        if rec.get("start_loss") is None:
            seed = int(rec.get("seed", 0))
            if seed not in cache:
                objective = curves_autoencoder_objective(int(result["n_train"]), seed=seed)
                cache[seed] = objective.loss(objective.get_params())
            rec["start_loss"] = cache[seed]
    return result


def by_variant(result: dict) -> dict[str, dict[int, dict]]:
    """{variant: {seed: record}}."""
    out: dict[str, dict[int, dict]] = {}
    for rec in result["runs"]:
        out.setdefault(rec["name"], {})[rec["seed"]] = rec
    return out


def speedups(result: dict, quantity: str, base: str = "HF") -> dict[str, np.ndarray]:
    """Per seed, base's cost / each variant's cost to the target (quantity: 'passes', 'cpu', 'cg_per_iter', ...;
    for 'cg_per_iter' the ratio is variant / base, the factor by which the variant changes it). NaN: not reached."""
    target = result["target"]
    runs = by_variant(result)
    out = {}
    for name, seeds in runs.items():
        ratios = []
        for seed, rec in sorted(seeds.items()):
            b, v = as_run(runs[base][seed]).to_target(target), as_run(rec).to_target(target)
            if b is None or v is None:
                ratios.append(np.nan)
            elif quantity == "cg_per_iter":
                ratios.append(v[quantity] / b[quantity])
            else:
                ratios.append(b[quantity] / v[quantity])
        out[name] = np.array(ratios)
    return out
