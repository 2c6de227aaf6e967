"""Benchmarks: ``python -m mbp_teach.bench NAME [options]``.

Each benchmark is a module here defining ``add_arguments(parser)`` and ``run(args) -> int``.
Speed goals are measured here and reported in the README, never enforced by timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence
from types import ModuleType


def names(package: str = __name__) -> list[str]:
    """The command names of ``package``: one per public module in it."""
    path = importlib.import_module(package).__path__
    return sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))


def load(name: str, package: str = __name__) -> ModuleType:
    """The module behind command ``name`` of ``package``; a clear error for an unknown name."""
    if name not in names(package):
        raise ValueError(f"unknown command {name!r} in {package}; available: {', '.join(names(package)) or 'none'}")
    return importlib.import_module(f"{package}.{name}")


def main(package: str, description: str, argv: Sequence[str] | None = None) -> int:
    """``python -m <package> NAME [options]``: one sub-command per module of ``package``, each with
    ``add_arguments(parser)`` and ``run(args) -> int`` (used by ``mbp_teach.bench`` and ``mbp_teach.experiments``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=description)
    sub = parser.add_subparsers(dest="name", required=True)
    for name in names(package):
        mod = load(name, package)
        doc = (mod.__doc__ or "").strip().splitlines()
        mod.add_arguments(sub.add_parser(name, help=doc[0] if doc else None))
    args = parser.parse_args(argv)
    return int(load(args.name, package).run(args) or 0)
