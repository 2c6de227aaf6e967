"""HF, SGD with momentum, Adam and L-BFGS at equal budgets, on digits and on curves (notebook 06).

``python -m mbp_teach.experiments hf_fair`` trains every method with each setting of its small sweep
(learning rates; HF's CG budget, with lambda_0 = 1) on every problem, over 3 seeds, each run until
250 gradient-equivalent passes, and writes figures/06_fair.json (every chosen run's curve, every
setting's final losses, test errors, reconstructions, Gauss-Newton spectra) and the figures
06_fair_curves.png, 06_fair_reconstructions.png, 06_fair_regimes.png. Problems: the digits
autoencoder (300 training and 300 test images of scikit-learn's digits) at depths 1, 3 and 5 with a
4-number code, and the CURVES-like autoencoder of ``hf.compare`` (300 images). About 15 minutes on a
shared 2-core machine (4 processes; the JSON is rewritten as each problem finishes).
``--quick`` is a small smoke test (1 seed, 40 passes, depth 1 only).

``--checks`` answers whether HF's place is an artefact of its tuning, and writes figures/06_fair_checks.json
(about 2 minutes): HF with every initial damping of ``CHECK_DAMPINGS`` on every problem (same seeds and pass
budget as the table), and on the deep digits net HF (lambda_0 = 1 and the sweep's best) and Adam (its learning
rate chosen in figures/06_fair.json) run to ``LONG_PASSES`` passes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from tqdm.auto import tqdm

from mbp_teach.hf import fair, fair_plots, regimes
from mbp_teach.hf.compare import curves_autoencoder_objective
from mbp_teach.hf.digits_autoencoder import digits_autoencoder_objective, encoder_sizes, reconstruction_error
from mbp_teach.notebook import figures_dir, save_figure, setup

N_TRAIN, N_TEST, CODE, SHOWN = 300, 300, 4, 8
DEPTHS = (1, 3, 5)
SETTINGS: dict[str, list[dict]] = {
    "HF": [dict(damping=1.0, max_cg=50), dict(damping=1.0, max_cg=250)],
    "SGD + momentum": [dict(lr=0.1), dict(lr=0.3), dict(lr=1.0)],
    "Adam": [dict(lr=3e-3), dict(lr=1e-2), dict(lr=3e-2)],
    "L-BFGS": [dict(lr=1.0)],  # a strong-Wolfe line search chooses its step; lr only scales the first trial
}


CHECK_DAMPINGS = (1e-3, 1e-2, 0.1, 1.0, 10.0)
LONG_PROBLEM, LONG_PASSES = "digits, depth 5", 1000.0


def add_arguments(parser) -> None:
    parser.add_argument("--passes", type=float, default=250.0, help="the budget of gradient-equivalent passes")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per setting")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1 seed, 40 passes, depth 1 only")
    parser.add_argument("--jobs", type=int, default=4, help="problems solved in parallel processes")
    parser.add_argument("--replot", action="store_true", help="only redraw the figures from figures/06_fair.json")
    parser.add_argument("--checks", action="store_true", help="only HF's damping sweep and the long deep-net runs "
                        "(figures/06_fair_checks.json; needs figures/06_fair.json)")


def problems(quick: bool) -> dict:
    """name -> (make_objective(seed), test images or None, encoder sizes)."""
    out = {}
    for depth in DEPTHS[:1] if quick else DEPTHS:
        def make(seed, depth=depth):
            return digits_autoencoder_objective(depth, CODE, N_TRAIN, N_TEST, seed=seed)[0]
        out[f"digits, depth {depth}"] = (make, digits_autoencoder_objective(depth, CODE, N_TRAIN, N_TEST)[1],
                                         encoder_sizes(depth, CODE))
    if not quick:
        out["curves"] = (lambda seed: curves_autoencoder_objective(300, seed=seed), None, (100, 48, 24, 12, 6))
    return out


def spectrum_record(objective) -> dict:
    s = regimes.gauss_newton_spectrum(objective)
    return dict(ritz=[float(f"{v:.6g}") for v in s.ritz], trace=s.trace, dim=s.dim, spread=s.spread,
                layer_curvature=[float(f"{v:.6g}") for v in regimes.layer_curvatures(objective)])


def solve(name: str, quick: bool, passes: float, seeds: list[int], position: int = 0) -> dict:
    """Every method's sweep on one problem (run in its own process: one torch thread each)."""
    setup()
    make, test, sizes = problems(quick)[name]
    budget = fair.Budget(passes)

    def evaluate(obj, seed):
        if test is None:
            return {}
        out: dict = dict(test=reconstruction_error(obj, test))
        if seed == seeds[0]:
            out["recon"] = [[round(float(v), 4) for v in row] for row in obj.model(test[:SHOWN]).detach()]
        return out

    entry: dict = dict(sizes=list(sizes), spectrum=[spectrum_record(make(s)) for s in seeds], methods={})
    if test is not None:
        entry["images"] = [[round(float(v), 4) for v in row] for row in test[:SHOWN]]
    total = len(seeds) * sum(len(s) for s in SETTINGS.values())
    with tqdm(total=total, desc=f"{name:<16}", unit="run", position=position) as bar:
        for method, settings in SETTINGS.items():
            sw = fair.sweep(method, make, settings, seeds, budget, bar=bar, evaluate=evaluate)
            entry["methods"][method] = dict(
                chosen=sw.chosen, final=sw.finals(budget.passes).tolist(),
                runs=[fair.run_record(r) for r in sw.runs[sw.chosen]], extras=sw.extras[sw.chosen])
    # equal CPU time: the largest budget that every chosen run reached
    entry["cpu_budget"] = min(r["cpu"][-1] for m in entry["methods"].values() for r in m["runs"])
    for m in entry["methods"].values():
        m["at_cpu"] = [fair.loss_at(r, "cpu", entry["cpu_budget"]) for r in m["runs"]]
    return entry


def run(args) -> int:
    setup()
    if args.replot:
        return replot()
    if args.checks:
        return checks(list(range(args.seeds)), args.passes)
    seeds = list(range(1 if args.quick else args.seeds))
    passes = 40.0 if args.quick else args.passes
    names = list(problems(args.quick))
    result: dict = dict(config=dict(n_train=N_TRAIN, n_test=N_TEST, code=CODE, depths=list(DEPTHS), curves_n_train=300,
                                    budget_passes=passes, batch=100, seeds=seeds, settings=SETTINGS,
                                    shown=SHOWN), problems={})
    start = time.perf_counter()
    # problems in parallel processes (``--jobs``); each run is seeded, so the result does not depend on it
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = "06_fair_quick.json" if args.quick else "06_fair.json"
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(solve, n, args.quick, passes, seeds, k): n for k, n in enumerate(names)}
        done: dict = {}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            # in the problems' order, and on disk at once: an interrupted run keeps what it finished
            result["problems"] = {n: done[n] for n in names if n in done}
            result["wall_seconds"] = time.perf_counter() - start
            (folder / name).write_text(json.dumps(result))
    if args.quick:
        print(fair_plots.markdown_table(result))
        return 0
    replot()
    print(f"\nwall time {result['wall_seconds']:.0f} s; wrote figures/06_fair.json and 06_fair_*.png")
    return 0


def replot() -> int:
    """Redraw the figures and the table from the stored figures/06_fair.json."""
    result = json.loads((figures_dir() / "06_fair.json").read_text())
    save_figure(fair_plots.curves_figure(result), "06_fair_curves")
    save_figure(fair_plots.reconstructions_figure(result), "06_fair_reconstructions")
    save_figure(fair_plots.regimes_figure(result), "06_fair_regimes")
    print(fair_plots.markdown_table(result))
    return 0


def checks(seeds: list[int], passes: float) -> int:
    """HF's initial damping swept on every problem, and the long runs on the deep net: figures/06_fair_checks.json."""
    main = json.loads((figures_dir() / "06_fair.json").read_text())
    budget = fair.Budget(passes)
    start = time.perf_counter()
    out: dict = dict(dampings=list(CHECK_DAMPINGS), seeds=seeds, budget_passes=passes, max_cg=250, damping={})
    probs = problems(False)
    for name, (make, _, _) in tqdm(probs.items(), desc="HF damping sweep (problems)"):
        sw = fair.sweep("HF", make, [dict(damping=d, max_cg=250) for d in CHECK_DAMPINGS], seeds, budget)
        out["damping"][name] = sw.finals(passes).tolist()  # (dampings, seeds)
    # the lowest median final loss, the rule ``fair.sweep`` uses to choose a setting
    best = CHECK_DAMPINGS[int(np.argmin(np.median(out["damping"][LONG_PROBLEM], axis=1)))]
    adam = main["problems"][LONG_PROBLEM]["methods"]["Adam"]
    adam_lr = main["config"]["settings"]["Adam"][adam["chosen"]]["lr"]
    long_budget = fair.Budget(LONG_PASSES)
    make = probs[LONG_PROBLEM][0]
    runs = {}
    for label, method, setting in [(f"HF, λ0 = {best:g}", "HF", dict(damping=best, max_cg=250)),
                                   ("HF, λ0 = 1", "HF", dict(damping=1.0, max_cg=250)),
                                   (f"Adam, lr = {adam_lr:g}", "Adam", dict(lr=adam_lr))]:
        if label in runs:  # the sweep's best may be lambda_0 = 1
            continue
        sw = fair.sweep(method, make, [setting], seeds, long_budget)
        runs[label] = [fair.run_record(r) for r in sw.runs[0]]
    out["long"] = dict(problem=LONG_PROBLEM, passes=LONG_PASSES, runs=runs)
    out["wall_seconds"] = round(time.perf_counter() - start, 1)
    (figures_dir() / "06_fair_checks.json").write_text(json.dumps(out))
    print(f"wrote figures/06_fair_checks.json ({out['wall_seconds']} s)")
    return 0
