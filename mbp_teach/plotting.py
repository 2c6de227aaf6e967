"""Figures without widgets: what model and plot code needs from matplotlib, and nothing from ipywidgets.

Package functions build a figure and return it; the notebook decides where it is shown
(``notebook.show``), so figures are made with interactive mode off.
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def new_figure(*args, **kwargs):
    """``plt.subplots`` with interactive mode off: the caller decides where the figure is displayed.

    Takes and returns what ``plt.subplots`` does: ``(fig, ax)``, ``ax`` an Axes or an array of them."""
    with plt.ioff():
        fig, ax = plt.subplots(*args, **kwargs)
    return fig, ax
