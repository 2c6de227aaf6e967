"""The learned outlier filter on a real stereo pair: ``python -m mbp_teach.experiments real_pairs``.

Trains filters on synthetic scenes only (``train.train``, gradient "both" as in MinBackProp, IFT
backward), with notebook 03's short configuration (``relative_pose.LIVE``, ``--seeds`` seeds) and
with the full one (``relative_pose.FULL``, ``--full-seeds`` seeds), and evaluates each on the ORB
matches of scikit-image's motorcycle pair (``solvers.stereo``): precision and recall of its top-scored
half against the disparity labels, and the pose error of RANSAC drawing its minimal sets from the
filter's scores against uniform RANSAC at the same budgets (``--runs`` independent RANSAC runs per
filter and budget; uniform sampling is repeated with ``--seeds`` seeds of as many runs). Writes
figures/03_real_pair.json (every number) and figures/03_real_pair.png; notebook 03 loads the JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from tqdm.auto import tqdm

from mbp_teach.experiments.relative_pose import FULL, LIVE
from mbp_teach.minbackprop import real_pair_plots, real_pairs
from mbp_teach.minbackprop.train import train
from mbp_teach.notebook import figures_dir, save_figure, setup
from mbp_teach.solvers import stereo

NAME = "03_real_pair"


def add_arguments(parser) -> None:
    parser.add_argument("--seeds", type=int, default=10, help="filters trained with notebook 03's short configuration")
    parser.add_argument("--full-seeds", type=int, default=5, help="filters trained with the full configuration")
    parser.add_argument("--runs", type=int, default=50, help="RANSAC runs per filter (or uniform seed) and budget")
    parser.add_argument("--max-budget", type=int, default=64, help="largest budget; budgets are powers of 2")


def run(args) -> int:
    import torch

    setup()
    torch.set_num_threads(1)  # as train.ablation: small tensors, and the same reductions on every machine
    matches = stereo.matches()
    budgets = [2**k for k in range(max(args.max_budget, 1).bit_length())]
    configs = {"short": (LIVE, args.seeds), "full": (FULL, args.full_seeds)}
    total = (args.seeds * 2 + args.full_seeds) * len(budgets)
    start = time.perf_counter()
    result: dict = {"matches": {"n": len(matches), "inliers": int(matches.inlier.sum()),
                                "outliers": int(matches.outlier.sum()), "unknown": int(matches.unknown.sum()),
                                "label_threshold_px": stereo.LABEL_THRESHOLD_PX},
                    "threshold_px": real_pairs.THRESHOLD_PX, "budgets": budgets, "runs": args.runs,
                    "configs": {k: asdict(c) for k, (c, _) in configs.items()}, "filters": [], "uniform": []}
    with tqdm(total=total, desc="budget curves") as bar:
        for name, (config, seeds) in configs.items():
            for seed in range(seeds):
                fit, net = train(config, "ift", seed, gradient="both", evaluate_after=False)
                logits = real_pairs.filter_logits(net, matches)
                rank = real_pairs.ranking(logits, matches.label)
                curve = real_pairs.budget_curve(matches, logits, budgets, args.runs, seed=1000 * seed,
                                                progress=lambda: bar.update(1))
                result["filters"].append({"config": name, "seed": seed, "stable": fit.stable, **asdict(rank),
                                          "precision": rank.precision, "recall": rank.recall,
                                          "perplexity": real_pairs.perplexity(logits), "curve": curve})
        for seed in range(args.seeds):
            curve = real_pairs.budget_curve(matches, None, budgets, args.runs, seed=1000 * seed,
                                            progress=lambda: bar.update(1))
            result["uniform"].append({"seed": seed, "curve": curve})
    result["wall_seconds"] = time.perf_counter() - start
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{NAME}.json").write_text(json.dumps(result))
    save_figure(real_pair_plots.budget_figure(result), NAME)
    print(real_pair_plots.markdown(result))
    print(f"\nwall time {result['wall_seconds']:.0f} s; wrote figures/{NAME}.json and figures/{NAME}.png")
    return 0
