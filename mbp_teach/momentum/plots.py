"""Figures of notebook 04 (heavy ball); notebook 05's are in ``dag_plots``.

The (alpha*lam, beta) regime map, rate checks, conventions under a schedule; the lab panel reuses
``draw_regime_map`` so the static figure and the live one are the same picture. Each function
returns its figure.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import torch

from mbp_teach.momentum import heavy_ball as mom
from mbp_teach.plotting import new_figure

AL_MAX = 4.2  # alpha*lam axis: divergence starts at 2 + 2 beta <= 4


def draw_regime_map(ax, resolution: int = 240, labels: bool = True, fontsize: float = 8, short: bool = False):
    """Colour (alpha*lam, beta) by rate (grey where rate >= 1); draw the two curves that bound the regimes.

    Convergence boundary: alpha*lam = 2 + 2 beta. Critical damping: beta = (1 - sqrt(alpha*lam))^2,
    whose two branches enclose the ripples (complex eigenvalues, rate sqrt(beta)).
    ``short`` keeps region labels to one word (each label costs redraw time in a live panel).
    Returns the image (for a colour bar).
    """
    al = np.linspace(0.0, AL_MAX, resolution)
    be = np.linspace(0.0, 1.0, resolution // 2)
    r = mom.rate(al[None, :], be[:, None], 1.0)
    cmap = matplotlib.colormaps["viridis"].with_extremes(over="0.82")
    img = ax.imshow(
        r, origin="lower", extent=(0.0, AL_MAX, 0.0, 1.0), aspect="auto", cmap=cmap, vmin=0.0, vmax=0.9999,
        interpolation="nearest",
    )
    b = np.linspace(0.0, 1.0, 50)
    ax.plot(2 + 2 * b, b, color="k", lw=1.5, label="convergence boundary  αλ = 2 + 2β")
    x = np.linspace(0.0, 4.0, 200)
    ax.plot(x, mom.critical_damping(x), color="#ff5fd2", lw=1.4, ls="--", label="critical damping  β = (1 − √(αλ))²")
    ax.plot([1.0], [0.0], marker="*", color="w", ms=9, ls="none", clip_on=False)
    if labels:
        kw = dict(fontsize=fontsize, ha="center", va="center")
        ax.text(1.2, 0.55, "ripples" if short else "ripples\n(rate √β)", color="w", **kw)
        ax.text(0.3, 0.05, "monotone" if short else "monotone\ndecrease", color="w", **kw)
        ax.text(1.75, 0.06, "oscillation" if short else "monotone\noscillation", color="w", **kw)
        ax.text(1.0, 0.09, "1-step", color="w", **kw)
        ax.text(3.4, 0.35, "divergence", color="k", **kw)
    ax.set_xlim(0.0, AL_MAX)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("step size × eigenvalue  αλ  (dimensionless)")
    ax.set_ylabel("momentum  β")
    return img


def regime_map_figure(points: dict[str, tuple[float, float]] | None = None):
    """The map alone with a colour bar, and optional labelled points {name: (alpha*lam, beta)}."""
    fig, ax = new_figure(figsize=(7.0, 4.2))
    img = draw_regime_map(ax, labels=True, fontsize=9)
    for name, (x, y) in (points or {}).items():
        ax.plot([x], [y], "o", ms=7, mec="k", label=f"{name} ({mom.regime(x, y)})")
    fig.colorbar(img, ax=ax, label="rate ρ(R) per step (grey: ≥ 1)", extend="max")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.set_title("Heavy ball on one eigen-direction: where it converges and how")
    fig.tight_layout()
    return fig


def rate_check_figure(theory: np.ndarray, measured: np.ndarray):
    """Measured convergence factor against rate(...) over a grid: points on the diagonal."""
    fig, ax = new_figure(figsize=(4.6, 4.2))
    ax.plot([0, 1.2], [0, 1.2], color="0.6", lw=1, label="measured = theory")
    ax.plot(theory.ravel(), measured.ravel(), ".", ms=4, label="grid point")
    ax.set_xlim(0, 1.2)
    ax.set_ylim(0, 1.2)
    ax.set_xlabel("rate(α, β, λ) = ρ(R)  (per step)")
    ax.set_ylabel("measured from heavy_ball iterates  (per step)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Spectral radius predicts the convergence factor")
    fig.tight_layout()
    return fig


def conventions_figure(runs: dict[str, torch.Tensor], lams, schedule_note: str):
    """Loss curves of the conventions (runs: name -> trajectory) on 1/2 sum lam_i w_i^2."""
    fig, ax = new_figure(figsize=(6.4, 3.8))
    styles = ["-", "--", ":", "-."]
    for k, (name, traj) in enumerate(runs.items()):
        ax.semilogy(mom.quadratic_loss(traj, lams).clamp_min(1e-300).numpy(), ls=styles[k % len(styles)], lw=1.6,
                    label=name)
    ax.set_xlabel("step k")
    ax.set_ylabel("loss f(w_k)  (quadratic units)")
    ax.set_title(f"Momentum conventions {schedule_note}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
