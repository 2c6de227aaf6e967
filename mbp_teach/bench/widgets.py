"""Widget panels: median time of one slider move (recompute + full Agg redraw), per control.

Each measured move is ``panel.update(control=value)`` followed by ``fig.canvas.draw()`` on the Agg
backend: the whole figure is redrawn, which is an upper bound for ipympl's ``draw_idle`` in a browser.
The panel's own ``draw_idle`` is silenced here (on Agg it would draw synchronously a second time).

Adding a panel: give its module in ``mbp_teach.panels`` a ``bench_cases()`` returning
``(name, factory, {control: values})`` tuples; every such module is found and measured.
"""

from __future__ import annotations

import importlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable


def panel_modules() -> list[str]:
    """Every module of ``mbp_teach.panels`` that defines ``bench_cases()``, in name order."""
    import pkgutil

    from .. import panels

    names = [f"{panels.__name__}.{m.name}" for m in pkgutil.iter_modules(panels.__path__)]
    return [n for n in sorted(names) if hasattr(importlib.import_module(n), "bench_cases")]


GOAL_MS = 50.0


@dataclass
class Row:
    case: str
    control: str
    times_ms: list[float] = field(default_factory=list)
    refused: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)


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
    canvas.draw_idle = lambda *a, **k: None  # count exactly one full draw per move
    canvas.draw()
    rows = []
    for control, values in sweeps.items():
        row = Row(name, control)
        for _ in range(repeats):
            for v in values:
                start = time.perf_counter()
                ok = panel.update(**{control: v})
                canvas.draw()
                row.times_ms.append(1e3 * (time.perf_counter() - start))
                row.refused += not ok
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
    rows = []
    for name, factory, sweeps in cases(args.only):
        rows.extend(measure(name, factory, sweeps, repeats=args.repeats))
    width = max([len(r.case) for r in rows] + [5])
    print(f"{'panel':<{width}}  {'control':<10} {'moves':>5} {'median ms':>10} {'max ms':>8}  goal < {GOAL_MS:g} ms")
    for r in rows:
        verdict = "ok" if r.median < GOAL_MS else "SLOW"
        note = f"  ({r.refused} refused, shown as message)" if r.refused else ""
        print(f"{r.case:<{width}}  {r.control:<10} {len(r.times_ms):>5} {r.median:>10.1f} {max(r.times_ms):>8.1f}  "
              f"{verdict}{note}")
    return 0
