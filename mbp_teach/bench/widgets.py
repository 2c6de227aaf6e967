"""Widget panels: median time of one slider move (recompute + the redraw it triggers), per control.

Each measured move is ``panel.update(control=value)`` plus the rendering that move causes in ipympl,
on the Agg renderer ipympl uses:
- a panel that blits (``Panel.blit_artists``) restores its saved background and draws the changed
  artists inside ``update`` (ipympl's ``canvas.blit`` then sends that buffer; no round trip);
- a panel that asks for ``draw_idle`` (no blitting, or its background is invalid) makes the browser
  request a full redraw: the bench then times ``fig.canvas.draw()`` after ``update``, as before.
Column "full" counts the moves that needed a full draw. Not timed, for either path: encoding the
frame as a PNG diff and sending it (ipympl's ``get_diff_image``), and the browser's own work.
Until 2026-11 (issue 18) every move was timed with a full ``canvas.draw()``; panels then all
redrew fully, so the numbers before and after compare the same thing: what a move costs the kernel.
Times are wall clock (``perf_counter``); column "cpu" is the process CPU time of the same moves,
less sensitive to other jobs on a shared machine. Torch runs as ``nbk.setup()`` leaves it in a lesson:
one thread, float64 by default.

Adding a panel: give its part's ``panels`` module a ``bench_cases()`` returning
``(name, factory, {control: values})`` tuples; every such module is found and measured.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def panel_modules() -> list[str]:
    """Every module of the course's parts that defines ``bench_cases()``, in name order."""
    import pkgutil

    from mbp_teach import PARTS

    names = []
    for part in PARTS:
        pkg = importlib.import_module(f"mbp_teach.{part}")
        names += [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    return [n for n in sorted(names) if hasattr(importlib.import_module(n), "bench_cases")]


GOAL_MS = 50.0  # the budget; the project aims at half of it on its own 2-core machine (README)


@dataclass
class Row:
    case: str
    control: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    refused: int = 0
    full: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)


def cases(only: str | None = None) -> list[tuple[str, Callable[[], Any], dict[str, list]]]:
    """Every registered (name, factory, sweeps), optionally those whose name contains ``only``."""
    found = []
    for mod_name in panel_modules():
        for case in importlib.import_module(mod_name).bench_cases():
            if only is None or only.lower() in case[0].lower():
                found.append(case)
    return found


def measure(name: str, factory: Callable[[], Any], sweeps: dict[str, list], repeats: int = 2) -> list[Row]:
    """Time each control over its values (``repeats`` passes); the first draw is a warm-up."""
    panel = factory()
    canvas = panel.fig.canvas
    asked = []
    canvas.draw_idle = lambda *a, **k: asked.append(1)  # the browser's answer, a full draw, is timed below
    canvas.draw()
    rows = []
    for control, values in sweeps.items():
        row = Row(name, control)
        for _ in range(repeats):
            for v in values:
                asked.clear()
                start, cpu = time.perf_counter(), time.process_time()
                ok = panel.update(**{control: v})
                if asked:
                    canvas.draw()
                row.times_ms.append(1e3 * (time.perf_counter() - start))
                row.cpu_ms.append(1e3 * (time.process_time() - cpu))
                row.refused += not ok
                row.full += bool(asked)
        rows.append(row)
    import matplotlib.pyplot as plt

    plt.close(panel.fig)
    return rows


def add_arguments(parser) -> None:
    parser.add_argument("--only", default=None, help="measure the cases whose name contains this text")
    parser.add_argument("--repeats", type=int, default=2, help="passes over each control's values")


def run(args) -> int:
    import matplotlib
    import torch

    matplotlib.use("Agg", force=True)
    torch.set_num_threads(1)  # as in a notebook: nbk.setup() runs its kernel on one thread
    torch.set_default_dtype(torch.float64)  # and makes float64 the default (until 2026-11 the bench used float32)
    rows = []
    for name, factory, sweeps in cases(args.only):
        rows.extend(measure(name, factory, sweeps, repeats=args.repeats))
    width = max([len(r.case) for r in rows] + [5])
    print(f"{'panel':<{width}}  {'control':<12} {'moves':>5} {'full':>4} {'median ms':>10} {'cpu ms':>7} "
          f"{'max ms':>8}  goal < {GOAL_MS:g} ms")
    for r in rows:
        verdict = "ok" if r.median < GOAL_MS else "SLOW"
        note = f"  ({r.refused} refused, shown as message)" if r.refused else ""
        print(f"{r.case:<{width}}  {r.control:<12} {len(r.times_ms):>5} {r.full:>4} {r.median:>10.1f} "
              f"{r.cpu_median:>7.1f} {max(r.times_ms):>8.1f}  {verdict}{note}")
    return 0
