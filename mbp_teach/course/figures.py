"""Regenerate every figure under ``figures/``: ``python -m mbp_teach.course.figures`` (``make figures``).

Each figure is drawn by the package and saved by the notebook that shows it
(``nbk.show(fig, save="NN_name")``), so regenerating them means executing the notebooks. They are
executed on copies with the fixed seed: the committed notebooks are left alone, and the PNGs,
saved without a timestamp, change only when the figure does. ``notebook_figures()`` lists what
each notebook saves, read from its source; the tests check that the README shows only those.

Figures of measurements (benchmark timings, the long relative-pose experiment) cannot be
byte-identical from run to run; ``--measured`` also re-runs the commands in ``MEASURED`` that
draw them (several minutes). Browser screenshots under figures/screenshots/ come from ``make e2e``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from mbp_teach.course.paths import REPO as ROOT

SAVE = re.compile(r"""(?:save\s*=\s*|save_figure\([^,()]+,\s*)["']([\w.-]+)["']""")
# Notebook figures with a wall-time axis (HF against other optimisers): their timing panel changes
# from run to run; every other notebook figure is byte-identical.
TIMED = {"06_autoencoder.png", "07_hf_variants.png"}
# figure file -> (command that draws it, module whose source names it)
MEASURED: dict[str, tuple[list[str], str]] = {
    "02_backward_time.png": (["-m", "mbp_teach.bench", "gradients"], "mbp_teach/bench/gradients.py"),
    "hf_bench.png": (["-m", "mbp_teach.bench", "hf"], "mbp_teach/bench/hf.py"),
    "03_relative_pose_full_training.png": (["-m", "mbp_teach.experiments", "relative_pose", "--full"],
                                           "mbp_teach/experiments/relative_pose.py"),
    "03_relative_pose_full_recall.png": (["-m", "mbp_teach.experiments", "relative_pose", "--full"],
                                         "mbp_teach/experiments/relative_pose.py"),
    "03_ablation_full_budget.png": (["-m", "mbp_teach.experiments", "relative_pose", "--full", "--ablation"],
                                    "mbp_teach/experiments/relative_pose.py"),
    # drawn from the stored figures/06_fair.json (seconds); `hf_fair` without --replot re-runs the study (~13 min)
    **{f"06_fair_{kind}.png": (["-m", "mbp_teach.experiments", "hf_fair", "--replot"], "mbp_teach/experiments/hf_fair.py")
       for kind in ("curves", "reconstructions", "regimes")},
}


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_figures() -> dict[str, Path]:
    """figures/<name>.png -> the notebook whose source saves it."""
    import nbformat

    found: dict[str, Path] = {}
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                for name in SAVE.findall(cell.source):
                    found[f"{name}.png"] = path
    return found


def regenerate(paths: list[Path] | None = None, progress: bool = True) -> list[Path]:
    """Execute each notebook on a copy (fixed seed); returns the figure files it wrote."""
    import os

    import nbformat
    from nbclient import NotebookClient
    from tqdm.auto import tqdm

    os.environ.setdefault("MBP_TEACH_SEED", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = paths or notebooks()
    bar = tqdm(paths, desc="figures", unit="notebook", disable=not progress)
    for path in bar:
        bar.set_postfix_str(path.name)
        nb = copy.deepcopy(nbformat.read(path, as_version=4))
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    wanted = {p for p in paths}
    return sorted(ROOT / "figures" / name for name, nb in notebook_figures().items() if nb in wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.figures", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="only these notebooks (default: all)")
    parser.add_argument("--measured", action="store_true", help="also re-run the benchmarks and experiments in MEASURED")
    args = parser.parse_args(argv)
    written = regenerate([Path(p).resolve() for p in args.notebooks] or None)
    if args.measured:
        import subprocess

        for cmd in dict.fromkeys(tuple(c) for c, _ in MEASURED.values()):
            print("running python", " ".join(cmd), flush=True)
            subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True)
        written += [ROOT / "figures" / name for name in MEASURED]
    missing = [p for p in written if not p.exists()]
    for p in written:
        print(f"{p.relative_to(ROOT)}{'  MISSING' if p in missing else ''}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
