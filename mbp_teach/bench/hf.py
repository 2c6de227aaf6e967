"""Hessian-free variants on the CURVES-like autoencoder: CG iterations and time to a target loss.

Plain HF, HF + implicit L-BFGS preconditioner, HF + preconditioner + geometric sampling, and sampling
alone (the ablation that separates the two ideas), on 1200 images by default (notebook 07's problem;
with 300 the fixed cost of a product on a small sample hides what sampling saves), all in one
process, single-threaded (tiny matrices on a shared CPU run faster and steadier on one thread).
The variants are interleaved and repeated (``--repeats``) so that a change in the load of a shared
machine hits them alike; times are medians over the repeats. CPU time of the process is reported
next to wall time: it does not count the time spent waiting for a core. CG iterations and
gradient-equivalent passes are deterministic and do not depend on the machine.
"""

from __future__ import annotations

import json
import os
import statistics

import torch

from mbp_teach.hf.compare import VARIANTS, curves_autoencoder_objective, run_hf
from mbp_teach.hf.plots import loss_curves

TARGET = 0.5


def add_arguments(parser) -> None:
    parser.add_argument("--target", type=float, default=TARGET, help="full training loss to reach")
    parser.add_argument("--n-train", type=int, default=1200, help="training images")
    parser.add_argument("--max-iters", type=int, default=80, help="HF iterations at most per variant")
    parser.add_argument("--max-cg", type=int, default=250, help="CG iterations at most per HF iteration")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repetitions (median times)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-figure", action="store_true", help="do not write figures/hf_bench.png")


def measure(args) -> tuple[dict, list]:
    """{variant: row} with median times over the repeats, and the runs of the first repeat."""
    torch.set_default_dtype(torch.float64)
    names = list(VARIANTS)
    hits: dict[str, list] = {n: [] for n in names}
    first = {}
    for rep in range(args.repeats):
        order = names[rep % len(names):] + names[: rep % len(names)]  # rotate who runs first
        for name in order:
            objective = curves_autoencoder_objective(args.n_train, args.seed)
            run = run_hf(name, objective, args.target, args.max_iters, max_cg=args.max_cg, seed=args.seed, **VARIANTS[name])
            first.setdefault(name, run)
            hits[name].append(run.to_target(args.target))
    rows = {}
    for name in names:
        h = hits[name]
        if any(x is None for x in h):
            rows[name] = None
            continue
        row = {k: h[0][k] for k in ("iterations", "cg", "cg_per_iter", "passes")}
        row["wall"] = statistics.median(x["wall"] for x in h)
        row["cpu"] = statistics.median(x["cpu"] for x in h)
        row["wall_all"] = [x["wall"] for x in h]
        rows[name] = row
    return rows, [first[n] for n in names]


def run(args) -> int:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    try:
        rows, runs = measure(args)
    finally:
        torch.set_num_threads(threads)
    load_after = os.getloadavg()
    base = rows["HF"]
    if base and all(rows.values()):
        for row in rows.values():
            row["speedup_wall"] = base["wall"] / row["wall"]
            row["speedup_cpu"] = base["cpu"] / row["cpu"]
            row["speedup_passes"] = base["passes"] / row["passes"]
            row["cg_per_iter_cut"] = base["cg_per_iter"] / row["cg_per_iter"]
    result = {"target": args.target, "n_train": args.n_train, "seed": args.seed, "repeats": args.repeats,
              "cpus": os.cpu_count(), "load_average_1min": [load_before[0], load_after[0]], "variants": rows}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"target full training loss {args.target}, {args.n_train} images, seed {args.seed}, 1 thread, "
              f"median of {args.repeats} interleaved repeats; load average {load_before[0]:.1f} -> "
              f"{load_after[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'variant':<24}{'HF its':>7}{'CG its':>8}{'CG/HF it':>9}{'passes':>8}{'wall s':>8}{'CPU s':>7}"
              f"{'speed-up: passes':>18}{'wall':>6}{'CPU':>6}{'CG/it cut':>10}")
        for name, row in rows.items():
            if row is None:
                print(f"{name:<24}  did not reach the target in {args.max_iters} iterations")
                continue
            nan = float("nan")
            print(f"{name:<24}{row['iterations']:>7}{row['cg']:>8}{row['cg_per_iter']:>9.1f}{row['passes']:>8.0f}"
                  f"{row['wall']:>8.1f}{row['cpu']:>7.1f}{row.get('speedup_passes', nan):>18.2f}"
                  f"{row.get('speedup_wall', nan):>6.2f}{row.get('speedup_cpu', nan):>6.2f}"
                  f"{row.get('cg_per_iter_cut', nan):>10.2f}")
    if not args.no_figure:
        from mbp_teach.notebook import save_figure

        save_figure(loss_curves(runs, args.target, "HF variants on the curves autoencoder (first repeat)"), "hf_bench")
    return 0
