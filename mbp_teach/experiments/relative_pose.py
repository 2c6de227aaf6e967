"""Relative pose: train the outlier filter through five_point with each backward (MinBackProp table).

``python -m mbp_teach.experiments relative_pose`` runs the notebook's small configuration;
``--full`` the larger one (200 correspondences per pair, 10 seeds per backward). Writes
figures/03_relative_pose[_full].md (the table), .json (every run) and two plots.

``--ablation`` trains with one backward (``--ablation-backward``, IFT by default) and each choice of
gradient terms (score function only, pathwise only, both: ``train.GRADIENTS``) and evaluates every
filter at RANSAC budgets 1 ... ``--max-budget`` hypotheses; it writes
figures/03_ablation[_full].md, .json and the AUC-against-budget figure. Without ``--full`` it is
notebook 03's live ablation (20 steps of 2 pairs, 5 seeds, budgets up to 32), with ``--full``
the one the notebook loads (FULL, 10 seeds, budgets up to 512; about 35 minutes on 2 busy cores).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from tqdm.auto import tqdm

from mbp_teach.minbackprop import plots, report
from mbp_teach.minbackprop.train import Config, Method, ablation, compare
from mbp_teach.notebook import figures_dir, save_figure, setup

FULL = Config(n_points=200, batch=4, n_sets=16, steps=40, eval_pairs=128, eval_hypotheses=16)
SMALL = Config()
LIVE = Config(steps=20, batch=2)  # notebook 03's live ablation (5 seeds, budgets 1 ... 32)


def add_arguments(parser) -> None:
    parser.add_argument("--full", action="store_true", help="the larger configuration (10 seeds, 200 points)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per method (default 10 full, 2 small)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run")
    parser.add_argument("--backwards", default="autograd,ift,ddn",
                        help="comma-separated backward modes, each trained with five_point's default (qr) null space")
    parser.add_argument("--autograd-null-spaces", default="gram_svd,svd",
                        help="comma-separated null-space bases to train autograd with as well: the paper-style "
                             "autograd baselines ('' for none)")
    parser.add_argument("--ablation", action="store_true",
                        help="score function only / pathwise only / both, and AUC against the RANSAC budget")
    parser.add_argument("--ablation-backward", default="ift", help="the solver's backward in the ablation")
    parser.add_argument("--max-budget", type=int, default=None,
                        help="largest RANSAC budget (hypotheses per pair) of the ablation; budgets are powers of 2 "
                             "(default 512 full, 32 otherwise)")


def run(args) -> int:
    setup()
    config = FULL if args.full else SMALL
    if args.steps is not None:
        config = replace(config, steps=args.steps)
    if args.ablation:
        return run_ablation(args, config if args.full else replace(LIVE, steps=args.steps or LIVE.steps))
    seeds = range(args.seeds if args.seeds is not None else (10 if args.full else 2))
    methods = [Method(b) for b in _names(args.backwards)]
    methods += [Method("autograd", n) for n in _names(args.autograd_null_spaces)]
    name = "03_relative_pose_full" if args.full else "03_relative_pose"
    start = time.perf_counter()
    with tqdm(total=len(methods) * len(seeds) * config.steps, desc="training steps", unit="step") as bar:
        result = compare(config, methods, seeds, progress=lambda: bar.update(1))
    result["wall_seconds"] = time.perf_counter() - start
    table = report.markdown(result)
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(table + "\n")
    (folder / f"{name}.json").write_text(json.dumps(result))
    save_figure(plots.training_figure(result), f"{name}_training")
    save_figure(plots.accuracy_figure(result), f"{name}_recall")
    print(table)
    print(f"\nwall time {result['wall_seconds']:.0f} s; wrote figures/{name}.md, .json, _training.png, _recall.png")
    return 0


def run_ablation(args, config: Config) -> int:
    seeds = range(args.seeds if args.seeds is not None else (10 if args.full else 5))
    max_budget = args.max_budget if args.max_budget is not None else (512 if args.full else 32)
    budgets = [2**k for k in range(max(max_budget, 1).bit_length())]
    name = "03_ablation_full" if args.full else "03_ablation"
    start = time.perf_counter()
    with tqdm(total=3 * len(seeds) * config.steps, desc="training steps", unit="step") as bar:
        result = ablation(config, seeds, backward=args.ablation_backward, budgets=budgets,
                          progress=lambda: bar.update(1))
    result["wall_seconds"] = time.perf_counter() - start
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result))
    table = report.ablation_markdown(result) + "\n\n" + report.budget_markdown(result)
    (folder / f"{name}.md").write_text(table + "\n")
    save_figure(plots.budget_figure(result), f"{name}_budget")
    print(table)
    print(f"\nwall time {result['wall_seconds']:.0f} s; wrote figures/{name}.md, .json, _budget.png")
    return 0


def _names(option: str) -> list[str]:
    """The non-empty names of a comma-separated option."""
    return [name.strip() for name in option.split(",") if name.strip()]
