"""Longer experiments, run from the command line: ``python -m mbp_teach.experiments NAME``.

Each experiment is a module here with ``add_arguments(parser)`` and ``run(args) -> int`` (the
same shape as ``mbp_teach.bench``); it shows progress and writes its table and plots to figures/.
"""

import importlib
import pkgutil


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str):
    return importlib.import_module(f"{__name__}.{name}")
