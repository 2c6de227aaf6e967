"""Panels of notebook 02: the finite-difference step, and gradients at repeated singular values.

``StepPanel``: the relative error of the central difference of a Kabsch loss along a fixed
direction, against the step h, in float32 and float64 (computed once: every step in one batched
solver call per dtype and sign). The slider moves a marker along both V-shaped curves; the
theoretical optimum (3 eps)^(1/3) and the measured best step are marked.

``DegeneracyPanel``: a symmetric planar point set whose cross-covariance has singular values
s1 = s2 (1 + gap)^2 and s3 = 0. The curves (precomputed over the gap) show the relative error
of autograd's and the IFT's gradient against the float64 Richardson reference; the slider sets
the gap (10^-16 rounds to an exact repetition in float64) on the same grid of 31 gaps, computed
once (three gradients and a Richardson reference each, about 2 s in all), and the bars show the two
factors behind them: autograd's SVD backward divides by
s1^2 - s2^2, the IFT's rotation residual by s1 + s2.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import torch

from mbp_teach.gradients import finite_diff as fd
from mbp_teach.gradients import problems as gp
from mbp_teach.gradients.compare import relative_error
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure
from mbp_teach.solvers.rotation import symmetric_planar

NAN_Y = 1e3  # where a non-finite error is drawn (above every finite one)


def kabsch_direction_problem(seed: int = 0):
    """(x, v, f_each): a 6-point Kabsch problem, a unit direction v in input space, the per-problem loss."""
    x = gp.inputs("kabsch", 1, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    v = tuple(torch.randn(t.shape, generator=g, dtype=torch.float64) for t in x)
    norm = math.sqrt(sum(float((t**2).sum()) for t in v))
    return x, tuple(t / norm for t in v), gp.per_problem_loss("kabsch")


def step_curves(steps: np.ndarray, seed: int = 0) -> dict[str, np.ndarray | float]:
    """Relative errors of central differences at every step, float32 and float64, vs the IFT derivative.

    The exact directional derivative is the IFT gradient (float64) dotted with v; it agrees with
    the Richardson reference (the notebook checks it).
    """
    x, v, each = kabsch_direction_problem(seed)
    xs = tuple(t.clone().requires_grad_(True) for t in x)
    grads = torch.autograd.grad(each("ift", *xs).sum(), xs)
    exact = float(sum((g * d).sum() for g, d in zip(grads, v, strict=True)))
    h = torch.as_tensor(steps, dtype=torch.float64)
    out: dict[str, np.ndarray | float] = {"exact": exact}

    def shifted(sign: float, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        return tuple(t.to(dtype) + sign * h.to(dtype).view((-1,) + (1,) * t.dim()) * d.to(dtype)
                     for t, d in zip(x, v, strict=True))

    for dtype in (torch.float32, torch.float64):
        with torch.no_grad():
            plus = each("autograd", *shifted(1.0, dtype)).reshape(-1)
            minus = each("autograd", *shifted(-1.0, dtype)).reshape(-1)
        est = (plus.double() - minus.double()) / (2.0 * h.to(dtype).double())
        out[str(dtype).split(".")[-1]] = ((est - exact).abs() / abs(exact)).numpy()
    return out


class StepPanel(Panel):
    """``update(log10_h=...)``: the V-shaped error of central differences, float32 and float64."""

    def __init__(self, log10_h: float = -4.0, seed: int = 0):
        super().__init__()
        self.steps = np.logspace(-14, 0, 113)
        self.curves = step_curves(self.steps, seed)
        self.errors = {name: np.asarray(self.curves[name]) for name in ("float32", "float64")}
        self.controls = {"log10_h": widgets.FloatSlider(value=log10_h, min=-14.0, max=0.0, step=0.125,
                                                        description="step: log₁₀ h", continuous_update=True)}
        self.fig, self.ax = new_figure(figsize=(6.4, 3.9), dpi=72)
        ax = self.ax
        self.marks = {}
        for k, name in enumerate(("float32", "float64")):
            err = np.maximum(self.errors[name], 1e-17)
            ax.loglog(self.steps, err, color=f"C{k}", ls=("-", "--")[k], lw=1.4, label=name)  # style too: colour-blind readers
            h_th = fd.optimal_step(getattr(torch, name))
            ax.axvline(h_th, color=f"C{k}", ls=":", lw=1)
            best = int(np.argmin(err))
            ax.loglog([self.steps[best]], [err[best]], "*", color=f"C{k}", ms=11, mec="k", mew=0.5)
            (self.marks[name],) = ax.loglog([], [], "o", color=f"C{k}", ms=7, mec="k")
        self.vline = ax.axvline(1e-4, color="0.3", lw=1)
        ax.set_xlabel("step h (input units)")
        ax.set_ylabel("relative error of the derivative")
        ax.set_ylim(1e-13, 10.0)
        plain_log_ticks(ax.xaxis, 8)
        plain_log_ticks(ax.yaxis, 8)
        ax.legend(loc="lower left", fontsize=8, title="dotted: (3 eps)^(1/3), star: best", title_fontsize=7)
        ax.set_title("central differences of a Kabsch loss", fontsize=10)
        self.fig.tight_layout()
        unhinted_text(self.fig)
        self.blit_artists(self.vline, *self.marks.values())
        self.update()

    def best_step(self, dtype: str) -> tuple[float, float]:
        """(h, error) at the bottom of the measured V for "float32" or "float64"."""
        err = self.errors[dtype]
        k = int(np.argmin(err))
        return float(self.steps[k]), float(err[k])

    def typical_error(self, dtype: str, decades: float = 0.5) -> float:
        """Median relative error over the steps within ``decades`` of h* = ``finite_diff.optimal_step``.

        The bottom of the V is where truncation and round-off errors of opposite signs can cancel by
        chance, so the single best error (``best_step``) is sometimes far below eps^(2/3), by an amount
        that changes with the CPU; the median near h* is the error one should expect there.
        """
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: must be 'float32' or 'float64', got {dtype!r}")
        if not decades > 0:
            raise ValueError(f"decades: must be positive, got {decades}")
        h_star = fd.optimal_step(getattr(torch, dtype))
        near = np.abs(np.log10(self.steps / h_star)) <= decades
        if not near.any():
            raise ValueError(f"decades: no step of the panel lies within {decades} decades of h* = {h_star:.1e}")
        return float(np.median(self.errors[dtype][near]))

    def predicted_bottom(self, dtype: str) -> tuple[float, float]:
        """(h_opt, e_min): the bottom of the V predicted from its two arms, for "float32" or "float64".

        Far left of h* the error is round-off, e ~ D/h; far right it is truncation, e ~ C h^2. D and C
        are the medians of e h and e / h^2 over 1.5 decades on each side (1.5 to 3 decades below h*,
        1.5 to 2.5 above). The sum D/h + C h^2 is smallest at h_opt = (D / 2C)^(1/3), where it is
        e_min = 3 C h_opt^2. Unlike h* = (3 eps)^(1/3), this uses the loss's own |f| and |f'''|."""
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: must be 'float32' or 'float64', got {dtype!r}")
        h, e = self.steps, self.errors[dtype]
        lh = np.log10(h / fd.optimal_step(getattr(torch, dtype)))
        left, right = (lh >= -3) & (lh <= -1.5), (lh >= 1.5) & (lh <= 2.5)
        D, C = float(np.median(e[left] * h[left])), float(np.median(e[right] / h[right] ** 2))
        h_opt = (D / (2 * C)) ** (1 / 3)
        return h_opt, 3 * C * h_opt**2

    def error_near(self, dtype: str, h: float, decades: float = 0.5) -> float:
        """Median relative error over the steps within ``decades`` of h (one step's error is noisy)."""
        near = np.abs(np.log10(self.steps / h)) <= decades
        if not near.any():
            raise ValueError(f"h: no step of the panel lies within {decades} decades of {h:.1e}")
        return float(np.median(self.errors[dtype][near]))

    def error_at(self, dtype: str, h: float) -> float:
        """Relative error at step h, interpolated in log-log on the precomputed curve."""
        err = np.maximum(self.errors[dtype], 1e-17)
        return float(10 ** np.interp(math.log10(h), np.log10(self.steps), np.log10(err)))

    def _update(self, log10_h: float) -> str:
        if not -14.0 <= log10_h <= 0.0:
            raise ValueError(f"log10 h: must lie in [-14, 0], got {log10_h}")
        h = 10.0**log10_h
        self.vline.set_xdata([h, h])
        parts = []
        for name, mark in self.marks.items():
            e = self.error_at(name, h)
            mark.set_data([h], [e])
            parts.append(f"{name}: error {e:.1e} (best {self.best_step(name)[1]:.1e} at h = {self.best_step(name)[0]:.0e})")
        return f"h = {h:.1e}   " + ";  ".join(parts)


def degeneracy_point(gap: float, seed: int = 3) -> dict[str, float]:
    """At one gap: relative errors of autograd, IFT and FD (h*) against the reference; s1, s2; factors."""
    x = symmetric_planar(gap, batch=1, seed=seed)
    each = gp.per_problem_loss("kabsch")
    ref = fd.reference_gradient(lambda *z: each("autograd", *z), x, vectorized=True)
    out = {}
    for method in ("autograd", "ift"):
        xs = tuple(t.clone().requires_grad_(True) for t in x)
        g = torch.autograd.grad(each(method, *xs).sum(), xs)
        out[method] = relative_error(g, ref)
        out[method + "_nonfinite"] = float(sum(int((~torch.isfinite(t)).sum()) for t in g))
    out["fd"] = relative_error(fd.central(lambda *z: each("autograd", *z), x, fd.optimal_step(), vectorized=True), ref)
    s = torch.linalg.svdvals(torch.einsum("bn,bni,bnj->bij", x[2], x[1], x[0]))[0]
    s1, s2 = float(s[0]), float(s[1])
    out.update(s1=s1, s2=s2, autograd_factor=1.0 / max(s1**2 - s2**2, 1e-300) if s1 != s2 else math.inf,
               ift_factor=1.0 / (s1 + s2))
    return out


class DegeneracyPanel(Panel):
    """``update(log10_gap=...)``: autograd vs IFT vs FD as two singular values meet."""

    def __init__(self, log10_gap: float = -6.0, seed: int = 3):
        super().__init__()
        self.seed = seed
        self.gaps = np.logspace(-16, -1, 31)
        pts = [degeneracy_point(float(g), seed) for g in self.gaps]
        self.table = {k: np.array([p[k] for p in pts]) for k in pts[0]}
        self.controls = {"log10_gap": widgets.FloatSlider(value=log10_gap, min=-16.0, max=-1.0, step=0.5,
                                                          description="log₁₀ gap (s₂ − s₃)", continuous_update=True)}
        self.fig, (self.ax, self.axb) = new_figure(1, 2, figsize=(10.0, 3.9), dpi=72,
                                                    gridspec_kw={"width_ratios": [2.2, 1]})
        ax = self.ax
        for k, method in enumerate(("autograd", "ift", "fd")):
            err = self.table[method]
            shown = np.where(np.isfinite(err), np.maximum(err, 1e-17), NAN_Y)
            ax.loglog(self.gaps, shown, ("-", "--", "-.", ":")[k % 4], color=f"C{k}", lw=1.4,
                      label={"fd": "finite diff. (h*)"}.get(method, method))
        (self.mark_auto,) = ax.loglog([], [], "o", color="C0", ms=8, mec="k")
        (self.mark_ift,) = ax.loglog([], [], "o", color="C1", ms=8, mec="k")
        self.vline = ax.axvline(1e-6, color="0.3", lw=1)
        ax.axhline(NAN_Y, color="C3", lw=0.8, ls="--")
        ax.text(2e-16, NAN_Y * 1.6, "NaN / inf", color="C3", fontsize=8)
        ax.set_ylim(1e-17, 1e5)
        ax.set_xlabel("gap (s1/s2 = (1 + gap)^2)")
        ax.set_ylabel("relative error vs float64 reference")
        plain_log_ticks(ax.xaxis, 6)
        plain_log_ticks(ax.yaxis, 8)
        ax.legend(loc="center right", fontsize=8)
        ax.set_title("gradient of a Kabsch loss at near-repeated singular values", fontsize=10)
        axb = self.axb
        self.bars = axb.bar([0, 1], [1.0, 1.0], color=["C0", "C1"], log=True)
        axb.set_xticks([0, 1], ["1/(s1²-s2²)\n(autograd)", "1/(s1+s2)\n(IFT)"])
        axb.set_ylim(1e-2, 1e18)
        axb.set_ylabel("factor in the backward")
        plain_log_ticks(axb.yaxis, 6)
        self.inf_text = axb.text(0, 1e16, "", ha="center", color="C3", fontsize=9)
        self.fig.tight_layout()
        unhinted_text(self.fig)
        self.blit_artists(self.vline, self.mark_auto, self.mark_ift, *self.bars, self.inf_text)
        self.update()

    def _update(self, log10_gap: float) -> str:
        if not -16.0 <= log10_gap <= -1.0:
            raise ValueError(f"log10 gap: must lie in [-16, -1], got {log10_gap}")
        # The slider moves on the precomputed grid (step 0.5 decade): a move is a look-up and a redraw.
        k = int(np.argmin(np.abs(np.log10(self.gaps) - log10_gap)))
        gap = float(self.gaps[k])
        p = {key: float(v[k]) for key, v in self.table.items()}
        self.last = p
        self.vline.set_xdata([gap, gap])
        for mark, method in ((self.mark_auto, "autograd"), (self.mark_ift, "ift")):
            e = p[method]
            mark.set_data([gap], [max(e, 1e-17) if math.isfinite(e) else NAN_Y])
        finite = math.isfinite(p["autograd_factor"])
        self.bars[0].set_height(min(p["autograd_factor"], 1e17) if finite else 1e17)
        self.bars[1].set_height(p["ift_factor"])
        self.inf_text.set_text("" if finite else "1/0")
        auto = "NaN/inf" if not math.isfinite(p["autograd"]) else f"{p['autograd']:.1e}"
        return (f"s1 - s2 = {p['s1'] - p['s2']:.1e}:  autograd error {auto}, IFT error {p['ift']:.1e}, "
                f"finite differences {p['fd']:.1e}")


def bench_cases():
    """For ``python -m mbp_teach.bench widgets`` (register this module there)."""
    return [("step (02)", StepPanel, {"log10_h": [-14.0, -8.0, -4.0, 0.0]}),
            ("degeneracy (02)", DegeneracyPanel, {"log10_gap": [-16.0, -10.0, -4.0, -1.0]})]
