"""Figures without widgets: what model and plot code needs from matplotlib, and nothing from ipywidgets.

Package functions build a figure and return it; the notebook decides where it is shown
(``notebook.show``), so figures are made with interactive mode off.

Importing this module sets the suite's look once: the colour cycle "C0", "C1", ... becomes the
Okabe & Ito (2008) palette, which people with any common colour-vision deficiency can tell apart
(in the roles matplotlib's default gives them: C0 blue, C1 orange, C2 green, C3 red, C4 purple), and
figures get an opaque white background, so they stay legible on JupyterLab's dark theme.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
from cycler import cycler

#: Okabe-Ito colours in the roles of matplotlib's ten default ones: C0 blue, C1 orange, C2 green, C3 red
#: (vermillion), C4 purple (reddish purple), C5 sky blue, C6 black, C7 grey, C8 yellow (faint on white:
#: last), C9 cyan (sky blue again). "CN" wraps around the cycle, so it keeps ten entries.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#7F7F7F", "#F0E442", "#56B4E9")


def use_style() -> None:
    """The colour-blind-safe cycle and opaque white backgrounds (called on import)."""
    matplotlib.rcParams.update({
        "axes.prop_cycle": cycler(color=PALETTE),
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
    })


use_style()


def new_figure(*args, **kwargs):
    """``plt.subplots`` with interactive mode off: the caller decides where the figure is displayed.

    Takes and returns what ``plt.subplots`` does: ``(fig, ax)``, ``ax`` an Axes or an array of them."""
    kwargs.setdefault("facecolor", "white")  # opaque even where a backend or a style makes it transparent
    with plt.ioff():
        fig, ax = plt.subplots(*args, **kwargs)
    fig.patch.set_alpha(1.0)
    return fig, ax
