"""What every notebook does in its first cells: seed, show figures, state checked claims.

``setup()`` seeds Python, NumPy and torch (``MBP_TEACH_SEED``, default 0) so that stored
outputs are identical from run to run. ``claim()`` prints a measured quantity next to its
bound and asserts it, so every sentence of the form "these agree" is checked where it is said.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

SEED = int(os.environ.get("MBP_TEACH_SEED", "0"))


def figures_dir() -> Path:
    """Where ``save_figure`` writes: never inside an installed package.

    ``MBP_TEACH_FIGURES`` if set; else the ``figures/`` folder of the repository this package was
    imported from, when it is a checkout (``pip install -e .`` or ``make``); else ``./figures``
    in the working directory (Colab, or a plain ``pip install``, where the package sits in
    site-packages).
    """
    if os.environ.get("MBP_TEACH_FIGURES"):
        return Path(os.environ["MBP_TEACH_FIGURES"])
    repo = Path(__file__).resolve().parents[1]
    if (repo / "notebooks").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "figures"
    return Path.cwd() / "figures"


def use_backend() -> str:
    """Pick matplotlib's notebook backend and return its name: "widget" (ipympl) or "inline".

    ipympl gives live figures that panels update in place. On Google Colab its front end is often
    broken, and elsewhere ipympl may be missing: there the inline backend is used instead, and the
    panels re-render a still picture on every move (``panels.base``). Prints one line only then.
    """
    import sys

    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:  # a plain script: whatever MPLBACKEND says
        return "none"
    if "google.colab" not in sys.modules:
        try:
            shell.run_line_magic("matplotlib", "widget")
            return "widget"
        except Exception as exc:  # ipympl absent or broken: ImportError, or a KeyError from a bad install
            reason = f"ipympl is not usable here ({type(exc).__name__}: {exc})"
    else:
        reason = "this is Colab, where ipympl's figures often fail to appear"
    shell.run_line_magic("matplotlib", "inline")
    print(f"Figures are still pictures: {reason}. The sliders still work; each move redraws the picture.")
    return "inline"


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
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
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
            # ipympl stores a still PNG for places without a kernel (GitHub, nbconvert) and a text/html
            # copy of the same PNG: keep one picture per figure (notebooks stay small, see nbtools.slim).
            display(fig.canvas, exclude=["text/html"])
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


def as_bound(value: float, bound: float, below: bool = True) -> str:
    """Assert ``value <= bound`` (``>=`` if not ``below``; NaN always fails) and return the bound as text.

    A round-off-level quantity (or a chaotic one, like autograd's error next to a repeated singular
    value) changes its digits, and even its decade, with the CPU, the BLAS and the thread count; the
    bound it satisfies does not. So a notebook prints ``"< 1e-09"`` (or ``"> 1e-04"``), never the value.
    """
    value, bound = float(value), float(bound)
    ok = (value <= bound) if below else (value >= bound)
    op = "<" if below else ">"
    assert ok, f"{value!r} is not {op}= {bound!r}"
    return f"{op} {bound:.0e}"


def claim(name: str, value: float, bound: float, below: bool = True, show_value: bool = True,
          value_format: Callable[[float], str] = fmt, bound_format: Callable[[float], str] = fmt) -> None:
    """Assert a notebook's checked sentence and print it: ``value <= bound`` (``>=`` if not ``below``).

    NaN always fails. ``show_value=True`` prints ``name: value  (claim: <= bound)  OK``.
    ``show_value=False`` prints only the bound, ``name: < 1e-09`` (``as_bound``): for round-off-level
    errors, whose digits depend on the BLAS build and the order of reductions and would break
    nbval's comparison of stored outputs.
    """
    if not show_value:
        try:
            shown = as_bound(value, bound, below)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None
        print(f"{name}: {shown}")
        return
    value = float(value)
    ok = (value <= bound) if below else (value >= bound)
    op = "<=" if below else ">="
    print(f"{name}: {value_format(value)}  (claim: {op} {bound_format(bound)})  {'OK' if ok else 'FAILED'}")
    assert ok, f"{name} = {value!r} does not satisfy {op} {bound!r}"
