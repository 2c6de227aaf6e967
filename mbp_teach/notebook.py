"""What every notebook does in its first cells: seed, show figures, state checked claims.

``setup()`` seeds Python, NumPy and torch (``MBP_TEACH_SEED``, default 0) so that stored
outputs are identical from run to run. ``claim()`` prints a measured quantity next to its
bound and asserts it, so every sentence of the form "these agree" is checked where it is said.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch

SEED = int(os.environ.get("MBP_TEACH_SEED", "0"))
ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"


def setup(seed: int = SEED, dtype: torch.dtype = torch.float64) -> torch.Generator:
    """Seed every generator a notebook uses and return a torch.Generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # One intra-op thread: a float reduction's order then does not depend on the core count, so the
    # stored outputs match on a laptop with 8 cores too (and a busy machine is not oversubscribed).
    torch.set_num_threads(1)
    torch.set_default_dtype(dtype)
    torch.set_printoptions(precision=4, sci_mode=None)
    np.set_printoptions(precision=4, suppress=True)
    return torch.Generator().manual_seed(seed)


def save_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` (the README shows these); returns the path."""
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / f"{name}.png"
    # metadata=None: no creation date, so the file only changes when the figure does.
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
    return path


def save_panel(fig, save: str) -> Path | None:
    """``save_figure`` for a panel's figure, which its widget displays (so ``show`` is not called).

    Like ``show(fig, save=...)`` it writes nothing under ``MBP_TEACH_NO_SAVE`` (``make test``,
    ``make portable``) and returns None then; otherwise the path of figures/<save>.png.
    """
    if os.environ.get("MBP_TEACH_NO_SAVE"):
        return None
    return save_figure(fig, save)


def show(fig, save: str | None = None):
    """Display a figure under either backend (ipympl canvas widget or inline PNG).

    Package functions build figures with interactive mode off and return them; notebooks
    call ``show`` so that a figure appears exactly once. ``save`` also writes figures/<save>.png.
    """
    from IPython.display import display

    # make test sets MBP_TEACH_NO_SAVE: checking a notebook must not rewrite the committed figures
    # (two of them carry wall times); make notebooks / make figures do write them.
    if save and not os.environ.get("MBP_TEACH_NO_SAVE"):
        save_figure(fig, save)
    try:
        import ipywidgets

        if isinstance(fig.canvas, ipywidgets.DOMWidget):
            display(fig.canvas)
            return None
    except ImportError:  # pragma: no cover - ipywidgets is a requirement
        pass
    display(fig)
    return None


def fmt(value: float) -> str:
    """Two significant digits: enough to read, stable across identical runs."""
    value = float(value)
    if value == 0.0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


def claim(name: str, value: float, bound: float, below: bool = True, show_value: bool = True,
          value_format: Callable[[float], str] = fmt, bound_format: Callable[[float], str] = fmt) -> None:
    """Print ``name: value (bound ...)`` and assert it; the notebook's checked sentences.

    ``below=True`` asserts value <= bound, otherwise value >= bound. NaN always fails.
    ``show_value=False`` prints only the bound: for errors at round-off level, whose last digits
    depend on the BLAS build and the order of reductions and so would break nbval's comparison
    (``gradcheck.claim`` prints only the bound).
    """
    value = float(value)
    ok = (value <= bound) if below else (value >= bound)
    op = "<=" if below else ">="
    limit = f"{op} {bound_format(bound)}"
    shown = f"{value_format(value)}  (claim: {limit})" if show_value else limit
    print(f"{name}: {shown}  {'OK' if ok else 'FAILED'}")
    assert ok, f"{name} = {value!r} does not satisfy {op} {bound!r}"
