"""Notebook 05's longer runs: do skips help training, and DAG vs sequential autoencoders on all the digits.

``python -m mbp_teach.experiments dag_training`` runs two parts (``--parts deep,digits``):

- deep: depth-30 tanh nets (``skip.VARIANTS``: plain, residual, residual with branches x 1/sqrt(depth)) trained on
  sin 2x by full-batch adaptive momentum with tau = ``--tau-ratio`` x eta (inside notebook 05's sufficient
  condition tau < eta), each variant at every step size of ``--etas``; per variant the step size with the lowest
  median final error is kept (the same tuning budget for every variant);
- digits: the DAG and the sequential autoencoder of notebook 05 (8-number code, equal parameter counts) on the
  1,297 training digits, same eta, tau and steps, ``--seeds`` seeds, test MSE on the 500 test digits.

Writes figures/05_dag_training.json (every curve and the chosen step sizes), 05_deep_training.png and
05_digits_full.png (training curves, median and range over seeds).
"""

from __future__ import annotations

import json
import time

import numpy as np
from tqdm.auto import tqdm

from mbp_teach.momentum import autoencoder as ae
from mbp_teach.momentum import skip
from mbp_teach.momentum.dag_plots import curves_figure
from mbp_teach.notebook import figures_dir, save_figure, setup

NAME = "05_dag_training"


def add_arguments(parser) -> None:
    parser.add_argument("--parts", default="deep,digits", help="comma-separated: deep, digits")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per variant / architecture")
    parser.add_argument("--steps", type=int, default=300, help="full-batch steps per run")
    parser.add_argument("--etas", default="0.001,0.003,0.01,0.03", help="step sizes tried for every deep variant")
    parser.add_argument("--depth", type=int, default=30, help="hidden layers of the deep nets")
    parser.add_argument("--tau-ratio", type=float, default=0.5,
                        help="deep nets: tau = ratio x eta (a fixed tau far above a small eta breaks tau < eta)")
    parser.add_argument("--code", type=int, default=8, help="autoencoder code width")


def run_deep(args) -> dict:
    etas = [float(e) for e in args.etas.split(",") if e]
    if not etas or min(etas) <= 0:
        raise ValueError(f"--etas: need positive step sizes, got {args.etas!r}")
    if not 0 <= args.tau_ratio < 1:
        raise ValueError(f"--tau-ratio: need 0 <= ratio < 1 (tau < eta), got {args.tau_ratio!r}")
    out: dict = {}
    for name in skip.VARIANTS:
        tried = {}
        for eta in tqdm(etas, desc=f"deep: {name}"):
            curves = skip.train_deep(name, args.depth, range(args.seeds), eta=eta, steps=args.steps,
                                     tau=args.tau_ratio * eta)
            tried[eta] = curves
        finite = {e: np.median(np.where(np.isfinite(c[:, -1]), c[:, -1], np.inf)) for e, c in tried.items()}
        best = min(finite, key=finite.get)
        out[name] = {"eta": best, "curves": np.nan_to_num(tried[best], posinf=1e300).tolist(),
                     "final_median_per_eta": {str(e): float(v) for e, v in finite.items()}}
    return out


def run_digits(args) -> dict:
    from mbp_teach.realdata import digits

    data = digits()
    dag = ae.dag_autoencoder(seed=0, code=args.code)
    widths = ae.matching_widths(dag.parameter_count(), code=args.code)
    out: dict = {"parameters": dag.parameter_count(), "widths": list(widths), "runs": []}
    for seed in tqdm(range(args.seeds), desc="digits autoencoders"):
        for name, net in (("DAG (skips)", ae.dag_autoencoder(seed=seed, code=args.code)),
                          ("sequential", ae.sequential_autoencoder(widths, seed=seed, code=args.code))):
            r = ae.train(net, data.train, data.test, 0.04, 0.04, args.steps, 0.03, name, seed)
            out["runs"].append({"name": name, "seed": seed, "train_mse": r.train_mse.tolist(),
                                "test_mse": r.test_mse, "psnr": r.psnr})
    return out


def run(args) -> int:
    setup()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - {"deep", "digits"}
    if unknown:
        raise ValueError(f"--parts: unknown part(s) {sorted(unknown)}; known: deep, digits")
    start = time.perf_counter()
    result: dict = {"args": vars(args)}
    if "deep" in parts:
        result["deep"] = run_deep(args)
        curves = {f"{n} (η = {v['eta']:g})": np.array(v["curves"]) for n, v in result["deep"].items()}
        save_figure(curves_figure(curves, "error E(w_k)", f"depth {args.depth}, best η per variant, "
                                  f"{args.seeds} seeds"), "05_deep_training")
    if "digits" in parts:
        result["digits"] = run_digits(args)
        runs = result["digits"]["runs"]
        curves = {n: np.array([r["train_mse"] for r in runs if r["name"] == n]) for n in ("DAG (skips)", "sequential")}
        save_figure(curves_figure(curves, "training MSE per pixel (intensity²)",
                                  f"digits, {result['digits']['parameters']} parameters each"), "05_digits_full")
        for n in curves:
            mse = [r["test_mse"] for r in runs if r["name"] == n]
            print(f"{n:<12} test MSE median {np.median(mse):.4g} [{min(mse):.4g}, {max(mse):.4g}]")
    result["wall_seconds"] = time.perf_counter() - start
    (figures_dir() / f"{NAME}.json").write_text(json.dumps(result))
    print(f"wall time {result['wall_seconds']:.0f} s; wrote figures/{NAME}.json")
    return 0
