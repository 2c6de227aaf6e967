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
# Okabe & Ito's colour-blind-safe palette (orange, sky blue, bluish green, yellow, blue, vermillion,
# reddish purple, black); compared lines also differ in line style.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))


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


def eigen_components_figure(lams, runs: dict[str, np.ndarray]):
    """Goh's "milestones" view: the loss of each run split into its eigen-components 1/2 lam_i w_{k,i}^2.

    ``runs``: name -> trajectory (steps+1, n) in the eigenbasis (one panel per run, one line per lam_i);
    the components sum to the loss (drawn in black).
    """
    lam = np.asarray(lams, dtype=float)
    fig, axes = new_figure(1, len(runs), figsize=(5.2 * len(runs), 3.9), sharey=True, squeeze=False)
    for ax, (name, traj) in zip(axes[0], runs.items(), strict=True):
        parts = 0.5 * lam * np.asarray(traj, dtype=float) ** 2  # (steps+1, n)
        f0 = parts[0].sum()
        for i in range(lam.size):
            colour = OKABE_ITO[(0, 1, 2, 4, 5, 6)[i % 6]]  # no yellow: too pale on white
            ax.semilogy(np.maximum(parts[:, i] / f0, 1e-300), color=colour, ls=STYLES[i % len(STYLES)], lw=2.0,
                        label=f"λ = {lam[i]:.3g}")
        # thin and on top: the sum often runs along its largest component, which stays visible on both sides
        ax.semilogy(np.maximum(parts.sum(1) / f0, 1e-300), color="k", lw=0.9, label="loss (sum)", zorder=5)
        ax.set_ylim(1e-12, 10.0)
        ax.set_xlabel("step k")
        ax.set_title(name, fontsize=10)
    axes[0][0].set_ylabel("eigen-component ½λᵢwᵢ² / f(w₀)  (relative)")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def transient_figure(ks: np.ndarray, curves: dict[str, np.ndarray], rho: float, title: str):
    """Transient growth of a non-normal iteration: ||T^k||, |w_k / w_0| and friends against rho^k (log scale)."""
    fig, ax = new_figure(figsize=(6.4, 3.9))
    for i, (name, y) in enumerate(curves.items()):
        ax.semilogy(ks, y, color=OKABE_ITO[(4, 5, 2, 0)[i % 4]], ls=STYLES[i % len(STYLES)], lw=1.6, label=name)
    ax.semilogy(ks, rho ** np.asarray(ks, dtype=float), color="k", ls="--", lw=1.2, label=f"ρᵏ, ρ = {rho:.3f}")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("step k")
    ax.set_ylabel("amplification (dimensionless)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def noise_floor_figure(betas: np.ndarray, panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """Stationary loss against beta: theory (line) and simulation over seeds (median, 10-90 % bar).

    ``panels``: title -> (theory (B,), median (B,), spread (2, B) as [low, high]).
    """
    fig, axes = new_figure(1, len(panels), figsize=(5.0 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, (title, (theory, median, spread)) in zip(axes[0], panels.items(), strict=True):
        ax.semilogy(betas, theory, color=OKABE_ITO[4], lw=1.6, label="closed form")
        ax.errorbar(betas, median, yerr=[median - spread[0], spread[1] - median], fmt="o", color=OKABE_ITO[5],
                    ms=4, capsize=2, label="simulation: median, 10–90 % of seeds")
        ax.set_xlabel("momentum β")
        ax.set_title(title, fontsize=10)
    axes[0][0].set_ylabel("stationary loss E f(w)  (quadratic units)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig
