"""Relative pose: train the outlier filter through five_point with each backward (MinBackProp table).

``python -m mbp_teach.experiments relative_pose`` runs the notebook's small configuration;
``--full`` the larger one (200 correspondences per pair, 10 seeds per backward). Writes
figures/03_relative_pose[_full].md (the table), .json (every run) and two plots.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from tqdm.auto import tqdm

from mbp_teach.minbackprop import plots, report
from mbp_teach.minbackprop.train import Config, Method, compare
from mbp_teach.notebook import figures_dir, save_figure, setup

FULL = Config(n_points=200, batch=4, n_sets=16, steps=40, eval_pairs=128, eval_hypotheses=16)
SMALL = Config()


def add_arguments(parser) -> None:
    parser.add_argument("--full", action="store_true", help="the larger configuration (10 seeds, 200 points)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per method (default 10 full, 2 small)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run")
    parser.add_argument("--backwards", default="autograd,ift,ddn",
                        help="comma-separated backward modes, each trained with five_point's default (qr) null space")
    parser.add_argument("--autograd-null-spaces", default="gram_svd,svd",
                        help="comma-separated null-space bases to train autograd with as well: the paper-style "
                             "autograd baselines ('' for none)")


def run(args) -> int:
    setup()
    config = FULL if args.full else SMALL
    if args.steps is not None:
        config = replace(config, steps=args.steps)
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


def _names(option: str) -> list[str]:
    """The non-empty names of a comma-separated option."""
    return [name.strip() for name in option.split(",") if name.strip()]
