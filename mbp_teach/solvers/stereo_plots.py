"""Figures of notebook 01's real pair: matches on the photographs, and epipolar lines on both images.

The photographs are drawn in grey so that the Okabe-Ito colours of the overlay stand out (and the
stored figures stay small).
"""

from __future__ import annotations

import numpy as np
import torch

from mbp_teach.plotting import new_figure
from mbp_teach.solvers.stereo import Matches, StereoImages

# Okabe-Ito colours, with a line style each, so that the three kinds differ without colour too
KINDS = (("inlier", "#009E73", "-"), ("outlier", "#D55E00", "--"), ("unknown", "#E69F00", ":"))
LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def _grey(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721]) / 255.0


def matches_figure(pair: StereoImages, matches: Matches, title: str = "ORB matches, labelled by the disparity"):
    """Left and right photographs side by side, each match a line from its left to its right keypoint,
    coloured by its label (inlier, outlier, unknown)."""
    H, W = pair.shape
    fig, ax = new_figure(figsize=(10, 3.7), dpi=90)
    ax.imshow(np.hstack([_grey(pair.left), _grey(pair.right)]), cmap="gray", vmin=0, vmax=1)
    u1, u2 = matches.u1.numpy(), matches.u2.numpy()
    for kind, colour, style in KINDS:
        mask = getattr(matches, kind).numpy()
        xs = np.stack([u1[mask, 0], u2[mask, 0] + W, np.full(mask.sum(), np.nan)], 1).ravel()
        ys = np.stack([u1[mask, 1], u2[mask, 1], np.full(mask.sum(), np.nan)], 1).ravel()
        ax.plot(xs, ys, color=colour, ls=style, lw=0.9, label=f"{kind} ({int(mask.sum())})")
    ax.axvline(W - 0.5, color="white", lw=2)
    ax.set_xlim(-0.5, 2 * W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.set_xlabel("column (px): left image, then right image")
    ax.set_ylabel("row (px)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return fig


def _segment(line: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The part of the line a u + b v + c = 0 across the image's columns 0 ... width - 1."""
    a, b, c = line
    us = np.array([0.0, width - 1.0])
    return us, -(a * us + c) / b


def epipolar_figure(pair: StereoImages, u1, u2, F, k: int = 8, label: str = "estimated"):
    """Both photographs with the epipolar lines of ``k`` matches u1 <-> u2 (pixels (n, 2)): in the right
    image the line F u1h, in the left one F^T u2h, for F in pixels (3, 3). The dashed line through each point
    is its row: the true epipolar line of a rectified pair. The k matches are spread over the rows."""
    u1, u2, F = (torch.as_tensor(a, dtype=torch.float64).numpy() for a in (u1, u2, F))
    if len(u1) < 1 or u1.shape != u2.shape or F.shape != (3, 3):
        raise ValueError(f"u1, u2: expected equal shapes (n, 2) with n >= 1 and F (3, 3), got {u1.shape}, "
                         f"{u2.shape}, {F.shape}")
    order = np.argsort(u1[:, 1], kind="stable")
    pick = order[np.linspace(0, len(order) - 1, min(k, len(order))).round().astype(int)]
    H, W = pair.shape
    fig, axes = new_figure(1, 2, figsize=(10, 3.7), dpi=90)
    for ax, image, here, there, Fk, name in ((axes[0], pair.left, u1, u2, F.T, "left"),
                                              (axes[1], pair.right, u2, u1, F, "right")):
        ax.imshow(_grey(image), cmap="gray", vmin=0, vmax=1)
        for n, i in enumerate(pick):
            colour = LINE_COLOURS[n % len(LINE_COLOURS)]
            us, vs = _segment(Fk @ np.append(there[i], 1.0), W)
            ax.plot(us, vs, color=colour, lw=1.3, label=f"{label} epipolar line" if n == 0 else None)
            ax.axhline(here[i, 1], color=colour, lw=0.8, ls="--", label="its row (the true line)" if n == 0 else None)
            ax.plot(*here[i], "o", ms=5, mfc="none", mew=1.5, color=colour)
        ax.set_xlim(-0.5, W - 0.5)
        ax.set_ylim(H - 0.5, -0.5)
        ax.set_xlabel("column (px)")
        ax.set_ylabel("row (px)")
        ax.set_title(f"{name} image: lines of the matches in the other image", fontsize=9)
    axes[0].legend(fontsize=8, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return fig
