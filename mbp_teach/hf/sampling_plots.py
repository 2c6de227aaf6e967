"""Figures of notebook 07: the Gauss-Newton drift between HF iterations, and the sample-gradient error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from mbp_teach.hf.plots import PALETTE, STYLES  # Okabe & Ito's colour-blind-safe palette, a line style each
from mbp_teach.plotting import new_figure


def drift_figure(drifts: Mapping[int, Sequence[float]], related_drift: float) -> Figure:
    """Relative change of G v between consecutive HF iterations (one line per seed: {seed: drift per iteration}),
    against the same measure for section 1's related systems (a horizontal line)."""
    fig, ax = new_figure(figsize=(7, 3.6))
    for k, (seed, d) in enumerate(sorted(drifts.items())):
        ax.semilogy(np.arange(1, len(d) + 1), d, color=PALETTE[k % 7], ls=STYLES[k % 7], lw=1.5,
                    label=f"autoencoder, plain HF, seed {seed}")
    ax.axhline(related_drift, color="k", ls=":", lw=1.5, label="section 1's related systems")
    ax.set_xlabel("HF iteration k")
    ax.set_ylabel("mean ||G_k v - G_(k-1) v|| / ||G_k v||")
    ax.set_title("How much the curvature matrix changes between solves (4 fixed probes v)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def variance_figure(sizes: Sequence[int], predicted: Mapping[str, Sequence[float]],
                    measured: Mapping[str, tuple[Sequence[int], Sequence[float]]], schedule: Sequence[int]) -> Figure:
    """E ||g_S - g||^2 / ||g||^2 against the sample size s (log-log, s < N only): the formula (lines) and random
    samples (markers) at each point of training ({label: values}); the schedule's |S_k| as vertical ticks."""
    fig, ax = new_figure(figsize=(7, 3.8))
    for k, (label, errs) in enumerate(predicted.items()):
        ax.loglog(sizes, errs, color=PALETTE[k], ls=STYLES[k], lw=1.5, label=f"{label}: formula")
        ms, me = measured[label]
        ax.loglog(ms, me, "o", color=PALETTE[k], ms=5, label=f"{label}: 30 random samples")
    for j, s in enumerate(schedule):
        ax.axvline(s, color="0.6", lw=0.8, ls="--", label="|S_k| = 0.3 N 1.2^k" if j == 0 else None)
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="error as large as the gradient")
    ax.set_xlabel("sample size s (images)")
    ax.set_ylabel("E ||g_S - g||^2 / ||g||^2")
    ax.set_title("Relative error of a sample gradient", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
