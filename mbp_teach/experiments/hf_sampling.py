"""Notebook 07's HF runs: preconditioners and sampling on the curves autoencoder, over seeds; the lab's grid.

``python -m mbp_teach.experiments hf_sampling`` runs both parts (variants: 15-20 minutes per seed, lab: 5 minutes,
measured with one thread each on a 2-core CPU shared by several jobs; faster on an idle machine):

* ``variants``: every variant of ``VARIANTS`` on 1200 curve images until the full training loss reaches 0.6
  (at most 60 HF iterations), for ``--seeds`` seeds (each seed draws other images, another initial network and
  other samples). Each run also records the drift of the Gauss-Newton matrix between iterations
  (``hf.gn_drift.DriftProbe``, 4 probes). Writes figures/07_hf_variants.json.
* ``lab``: HF with sampling (no preconditioner) on 120 images for 10 iterations at every (growth a, start
  |S0|/N) of the lab's grid, and plain HF: figures/07_sampling_lab.json, which ``SamplingLab`` loads.

``--parts variants`` or ``--parts lab`` runs one of them.
"""

from __future__ import annotations

import json
import time

from tqdm.auto import tqdm

from mbp_teach.hf.compare import Run, curves_autoencoder_objective, run_hf
from mbp_teach.hf.gn_drift import DriftProbe
from mbp_teach.notebook import figures_dir, setup

N_TRAIN, TARGET, MAX_ITERS = 1200, 0.6, 60
SAMPLING = dict(sample_start=0.3, sample_growth=1.2, curvature_fraction=0.5)
VARIANTS: dict[str, dict] = {
    "HF": {},
    "HF + diagonal": dict(preconditioner="diagonal"),
    "HF + L-BFGS": dict(preconditioner="lbfgs", memory=20),
    # Sainath et al.'s variant: every new pair enters the preconditioner at once, so it changes within the solve
    "HF + L-BFGS within solve": dict(preconditioner="lbfgs", memory=20, during_solve=True, flexible=True),
    "HF + L-BFGS + sampling": dict(preconditioner="lbfgs", memory=20, **SAMPLING),
    "HF + sampling": dict(SAMPLING),  # the ablation that tells the two ideas apart
}
LAB_N, LAB_ITERS, LAB_MAX_CG = 120, 10, 40
LAB_GROWTH = (1.0, 1.1, 1.2, 1.3, 1.5, 2.0)
LAB_START = (0.02, 0.05, 0.1, 0.2, 0.4)


def add_arguments(parser) -> None:
    parser.add_argument("--seeds", type=int, default=5, help="seeds per variant (default 5)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed ... first-seed + seeds - 1 "
                        "(to split the variants over processes; merge the JSON files' runs)")
    parser.add_argument("--parts", default="variants,lab", help="comma-separated: variants, lab")


def record(run: Run, **extra) -> dict:
    return dict(name=run.name, start_loss=getattr(run, "start_loss", None), loss=run.loss, passes=run.passes,
                cpu=run.cpu, wall=run.wall,
                cg_iters=run.cg_iters, samples=run.samples, **extra)


def run_variants(seeds: int, save=None, first_seed: int = 0) -> dict:
    """Seed after seed; ``save(result)`` after every run, so an interrupted experiment keeps its finished runs."""
    runs: list[dict] = []
    result = dict(n_train=N_TRAIN, target=TARGET, max_iters=MAX_ITERS, variants=VARIANTS, seeds=0, runs=runs)
    with tqdm(total=seeds * len(VARIANTS) * MAX_ITERS, desc="HF variants (iterations, at most)") as bar:
        for seed in range(first_seed, first_seed + seeds):
            for name, cfg in VARIANTS.items():
                objective = curves_autoencoder_objective(N_TRAIN, seed=seed)
                probe = DriftProbe(objective, count=4, seed=seed, bar=bar)
                run = run_hf(name, objective, TARGET, MAX_ITERS, progress=probe, seed=seed, **cfg)
                runs.append(record(run, seed=seed, drift=probe.drift))
                if save is not None:
                    save(result)
            result["seeds"] = seed + 1 - first_seed  # seeds with every variant done
    return result


def run_lab() -> dict:
    grid = [(a, s) for a in LAB_GROWTH for s in LAB_START]
    runs = []
    for a, s in tqdm(grid + [(None, None)], desc="sampling lab grid (runs)"):
        cfg = {} if s is None else dict(sample_growth=a, sample_start=s)
        name = "plain HF" if s is None else f"a = {a}, start = {s}"
        run = run_hf(name, curves_autoencoder_objective(LAB_N), None, LAB_ITERS, max_cg=LAB_MAX_CG, **cfg)
        runs.append(record(run, growth=a, start=s))
    return dict(n_train=LAB_N, iters=LAB_ITERS, max_cg=LAB_MAX_CG, growth=LAB_GROWTH, start=LAB_START, runs=runs)


def run(args) -> int:
    setup()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"variants", "lab"}
    if unknown or not parts:
        raise ValueError(f"--parts: expected variants and/or lab, got {args.parts!r}")
    if not isinstance(args.seeds, int) or args.seeds < 1:
        raise ValueError(f"--seeds: need a positive integer, got {args.seeds!r}")
    out = figures_dir()
    for part, name in (("lab", "07_sampling_lab"), ("variants", "07_hf_variants")):
        if part not in parts:
            continue
        start = time.perf_counter()
        command = f"python -m mbp_teach.experiments hf_sampling --parts {part}" + (
            f" --seeds {args.seeds}" if part == "variants" else "")

        def save(result: dict, name: str = name, command: str = command, start: float = start) -> None:
            result["command"] = command
            result["seconds"] = round(time.perf_counter() - start, 1)
            (out / f"{name}.json").write_text(json.dumps(result, indent=1))

        result = run_lab() if part == "lab" else run_variants(args.seeds, save, args.first_seed)
        save(result)
        print(f"wrote {out / (name + '.json')} ({result['seconds']} s)")
    return 0
