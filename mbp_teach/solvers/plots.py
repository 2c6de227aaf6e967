"""Figures of notebook 01: roots in the complex plane, registration before/after, epipolar lines.

Each function builds a figure with interactive mode off and returns it (``nbk.show`` displays it);
``epipolar_lines`` is shared with the live panel.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from mbp_teach.plotting import new_figure


def complex_roots_figure(sets: list[tuple[np.ndarray, str]], coeffs=None, title: str = "roots in the complex plane",
                         symlog: bool = False):
    """Scatter each (roots, label) set in the complex plane; with ``coeffs`` (highest degree first)
    the background shows log10 |p(z)|, whose minima are the roots. ``symlog``: both axes linear
    within [-1, 1] and logarithmic outside (roots of very different sizes)."""
    fig, ax = new_figure(figsize=(5.2, 4.4))
    pts = np.concatenate([np.asarray(r) for r, _ in sets])
    span = max(1.0, 1.25 * np.abs(pts).max())
    if coeffs is not None:
        g = np.linspace(-span, span, 300)
        Z = g[None, :] + 1j * g[:, None]
        val = np.abs(np.polyval(np.asarray(coeffs, dtype=float), Z))
        cs = ax.contourf(g, g, np.log10(val + 1e-300), levels=30, cmap="Greys_r")
        fig.colorbar(cs, ax=ax, label="log10 |p(z)|")
    markers = ["x", "o", "s", "^", "d"]
    for k, (r, label) in enumerate(sets):
        r = np.asarray(r)
        ax.plot(r.real, r.imag, markers[k % 5], ms=8, mfc="none" if k else None, mew=2, label=label, color=f"C{k}")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    if symlog:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("real part")
    ax.set_ylabel("imaginary part")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def registration_figure(P, Q, R, t, inlier=None):
    """3D scatter of Q with P before and after the rigid motion (R, t); outliers of Q as red crosses."""
    P, Q, R, t = (torch.as_tensor(a).detach().numpy() for a in (P, Q, R, t))
    inlier = np.ones(len(P), bool) if inlier is None else torch.as_tensor(inlier).numpy()
    moved = P @ R.T + t
    with plt.ioff():
        fig = plt.figure(figsize=(10, 4.4))
    for k, (A, name) in enumerate([(P, "before: P and Q"), (moved, "after: R P + t and Q")]):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.scatter(*A.T, s=14, color="C0", label="P" if k == 0 else "R P + t")
        ax.scatter(*Q[inlier].T, s=14, color="C2", marker="o", label="Q, inliers")
        if (~inlier).any():
            ax.scatter(*Q[~inlier].T, s=22, color="C3", marker="x", label="Q, outliers")
        for a, b in zip(A[inlier], Q[inlier], strict=True):
            ax.plot(*np.stack([a, b]).T, color="0.6", lw=0.6)
        ax.set_xlabel("x (units)")
        ax.set_ylabel("y (units)")
        ax.set_zlabel("z (units)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def epipolar_lines(F: np.ndarray, u: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """End points (x (k, 2), y (k, 2)) across the image width of the lines l = F uh for points u (k, 2)."""
    uh = np.concatenate([u, np.ones((len(u), 1))], axis=1)
    a, b, c = (uh @ F.T).T
    xs = np.array([0.0, width])
    b = np.where(np.abs(b) < 1e-12, 1e-12, b)  # a vertical line: drawn very steep
    ys = -(a[:, None] * xs[None, :] + c[:, None]) / b[:, None]
    return np.broadcast_to(xs, ys.shape), ys


def epipolar_figure(scene, F, k: int = 8, label: str = "estimated F"):
    """Both images of a (single) two-view scene: points, and for the first k inliers the epipolar
    lines of ``F`` (solid) and of the true F (dashed) in each image."""
    u1, u2 = scene.u1.numpy(), scene.u2.numpy()
    inl = scene.inlier.numpy()
    F, F_true = np.asarray(F), scene.F.numpy()
    w, h = scene.image_size
    fig, axes = new_figure(1, 2, figsize=(11, 4.2))
    chosen = np.flatnonzero(inl)[:k]
    for ax, (mine, other, G, Gt, name) in zip(axes, [(u1, u2, F.T, F_true.T, "image 1"),
                                                     (u2, u1, F, F_true, "image 2")], strict=True):
        ax.plot(*mine[inl].T, ".", color="0.4", ms=4)
        if (~inl).any():
            ax.plot(*mine[~inl].T, "x", color="C3", ms=4, label="outliers")
        for j, i in enumerate(chosen):
            xs, ys = epipolar_lines(G, other[i:i + 1], w)
            ax.plot(xs[0], ys[0], color=f"C{j % 10}", lw=1.2)
            xs, ys = epipolar_lines(Gt, other[i:i + 1], w)
            ax.plot(xs[0], ys[0], "--", color="k", lw=0.7)
            ax.plot(*mine[i], "o", color=f"C{j % 10}", ms=6, mec="k")
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)  # image convention: y down
        ax.set_aspect("equal")
        ax.set_xlabel("u (pixels)")
        ax.set_ylabel("v (pixels)")
        ax.set_title(f"{name}: lines of {label} (solid), true (dashed)", fontsize=9)
    fig.tight_layout()
    return fig


def matrix_heatmaps_figure(panels, figsize=(11.0, 4.0)):
    """One heat map per (matrix, title, row labels, column labels): colour = log10 |entry|, exact zeros white.

    For the 5-point solver's 10 x 20 constraint matrix and its 10 x 10 action matrix (or the conic warm-up's):
    the structure (which entries are exactly 0 or 1) is what the text explains. ``cividis`` is readable with
    every common colour-vision deficiency.
    """
    widths = [np.asarray(torch.as_tensor(m)).shape[1] for m, *_ in panels]
    fig, axes = new_figure(1, len(panels), figsize=figsize, gridspec_kw={"width_ratios": widths})
    axes = np.atleast_1d(axes)
    for ax, (m, title, rows, cols) in zip(axes, panels, strict=True):
        m = np.asarray(torch.as_tensor(m).detach(), dtype=float)
        with np.errstate(divide="ignore"):
            shown = np.ma.masked_where(m == 0, np.log10(np.abs(m)))
        im = ax.imshow(shown, cmap="cividis", aspect="equal")
        ax.set_xticks(range(m.shape[1]), cols, rotation=90, fontsize=7)
        ax.set_yticks(range(m.shape[0]), rows, fontsize=7)
        ax.set_xlabel("column: monomial", fontsize=8)
        ax.set_ylabel("row", fontsize=8)
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.7, label="log10 |entry| (white: exactly 0)")
    fig.tight_layout()
    return fig
