"""Notebook 05's longer runs: do skips help training, and DAG vs sequential autoencoders on all the digits.

``python -m mbp_teach.experiments dag_training`` runs two parts (``--parts deep,digits``):

- deep: depth-30 tanh nets (``skip.VARIANTS``: plain, residual, residual with branches x 1/sqrt(depth)) trained on
  sin 2x by full-batch adaptive momentum with tau = ``--tau-ratio`` x eta (inside notebook 05's sufficient
  condition tau < eta), ``--deep-seeds`` seeds and ``--deep-steps`` steps, each variant at every step size of
  ``--etas`` (the same grid, from 3e-4, where the unscaled residual net no longer diverges, to 0.1); per variant the
  step size with the lowest median final error is kept (the same tuning budget for every variant), and a variant
  that diverges at every step size is marked as such (the figure lists it instead of drawing overflowed curves);
- digits: the DAG and the sequential autoencoder of notebook 05 (8-number code, equal parameter counts) on the
  1,297 training digits, eta ``--digits-eta``, tau = ``--digits-tau-ratio`` x eta (0.5: tau = eta is the edge of
  the condition, where the DAG curves spiked), ``--steps`` steps, ``--seeds`` seeds, test MSE on the 500 test
  digits; seed 0's reconstructions of 8 test digits are stored too.

The command behind notebook 05's stored results (about 12 minutes on 2 idle cores):
``python -m mbp_teach.experiments dag_training --deep-seeds 5 --seeds 5``.

Writes figures/05_dag_training.json (every curve and the chosen step sizes), 05_deep_training.png and
05_digits_full.png (training curves, median and range over seeds); notebook 05 reads the JSON back with
``skip.load_training_result``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from mbp_teach.momentum import autoencoder as ae
from mbp_teach.momentum import skip
from mbp_teach.momentum.dag_plots import curves_figure, deep_training_figure
from mbp_teach.notebook import figures_dir, save_figure, setup

NAME = "05_dag_training"


def add_arguments(parser) -> None:
    parser.add_argument("--parts", default="deep,digits", help="comma-separated: deep, digits")
    parser.add_argument("--seeds", type=int, default=5, help="digits: seeds per architecture")
    parser.add_argument("--steps", type=int, default=1500, help="digits: full-batch steps per run")
    parser.add_argument("--deep-seeds", type=int, default=5, help="deep: seeds per variant and step size")
    parser.add_argument("--deep-steps", type=int, default=200, help="deep: full-batch steps per run")
    parser.add_argument("--etas", default="0.0003,0.001,0.003,0.01,0.03,0.1",
                        help="step sizes tried for every deep variant (the same grid for each)")
    parser.add_argument("--depth", type=int, default=30, help="hidden layers of the deep nets")
    parser.add_argument("--tau-ratio", type=float, default=0.5,
                        help="deep nets: tau = ratio x eta (a fixed tau far above a small eta breaks tau < eta)")
    parser.add_argument("--code", type=int, default=8, help="autoencoder code width")
    parser.add_argument("--digits-eta", type=float, default=0.04, help="autoencoders: step size eta")
    parser.add_argument("--digits-tau-ratio", type=float, default=0.5,
                        help="autoencoders: tau = ratio x eta (0.5: well inside tau < eta; tau = eta sits on the edge)")


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
            curves = skip.train_deep(name, args.depth, range(args.deep_seeds), eta=eta, steps=args.deep_steps,
                                     tau=args.tau_ratio * eta)
            tried[eta] = curves
        finite = {e: np.median(np.where(np.isfinite(c[:, -1]), c[:, -1], np.inf)) for e, c in tried.items()}
        best = min(finite, key=finite.get)
        diverged = {str(e): int((~np.isfinite(c[:, -1])).sum()) for e, c in tried.items()}
        out[name] = {"eta": best, "curves": np.nan_to_num(tried[best], nan=1e300, posinf=1e300).tolist(),
                     "final_median_per_eta": {str(e): float(v) if np.isfinite(v) else None
                                              for e, v in finite.items()},
                     "diverged_seeds_per_eta": diverged,
                     "diverged_everywhere": bool(not np.isfinite(finite[best]))}
    return out


def run_digits(args) -> dict:
    from mbp_teach.realdata import digits

    if args.digits_eta <= 0 or not 0 <= args.digits_tau_ratio < 1:
        raise ValueError(f"--digits-eta / --digits-tau-ratio: need eta > 0 and 0 <= ratio < 1, "
                         f"got {args.digits_eta!r}, {args.digits_tau_ratio!r}")
    eta, tau = args.digits_eta, args.digits_tau_ratio * args.digits_eta
    data = digits()
    dag = ae.dag_autoencoder(seed=0, code=args.code)
    widths = ae.matching_widths(dag.parameter_count(), code=args.code)
    out: dict = {"parameters": dag.parameter_count(), "widths": list(widths), "eta": eta, "tau": tau,
                 "steps": args.steps, "n_train": int(data.train.shape[0]),
                 "n_test": int(data.test.shape[0]), "runs": []}
    for seed in tqdm(range(args.seeds), desc="digits autoencoders"):
        for name, net in (("DAG (skips)", ae.dag_autoencoder(seed=seed, code=args.code)),
                          ("sequential", ae.sequential_autoencoder(widths, seed=seed, code=args.code))):
            r = ae.train(net, data.train, data.test, eta, tau, args.steps, 0.03, name, seed)
            if seed == 0:
                with torch.no_grad():
                    out.setdefault("reconstructions", {})[name] = net(data.test[:8]).tolist()
                    out["test_images"] = data.test[:8].tolist()
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
        save_figure(deep_training_figure(result["deep"], args.depth, args.deep_seeds), "05_deep_training")
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
