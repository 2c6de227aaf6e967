"""Benchmarks: ``python -m mbp_teach.bench NAME [options]``.

Each benchmark is a module here defining ``add_arguments(parser)`` and ``run(args) -> int``.
Speed goals are measured here and reported in the README, never enforced by timed tests.
"""

import importlib
import pkgutil


def names() -> list[str]:
    """The available benchmark names (one per module in this package)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str):
    if name not in names():
        raise ValueError(f"unknown benchmark {name!r}; available: {', '.join(names()) or 'none'}")
    return importlib.import_module(f"{__name__}.{name}")
