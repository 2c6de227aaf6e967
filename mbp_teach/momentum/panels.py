"""The heavy-ball lab of notebook 04 (notebook 05's tau panel is in ``dag_panels``).

``MomentumLab``: step size, momentum, condition number and gradient-noise sliders and a method toggle
(heavy ball or Nesterov) on a quadratic f(w) = 1/2 sum_i lam_i w_i^2 with n eigenvalues from 1/kappa to 1
(n = 2: a valley in the plane). Three views share one figure, built once and updated with ``set_data``:
the trajectory over the level sets of the (slowest, fastest) plane (a click there restarts the run from
the clicked point: ``restart_from``), the relative loss on a log scale with its two extreme eigen-components,
the predicted rate^(2k) and, with noise, the predicted noise floor overlaid, and the (alpha*lam, beta)
regime map with every eigen-direction of the current setting marked (for Nesterov at its effective
momentum beta (1 - alpha lam)). Divergence is a message, and the curves stop where the run leaves
floating-point range.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from mbp_teach.momentum import heavy_ball as mom
from mbp_teach.momentum import nesterov as nag
from mbp_teach.momentum import noise
from mbp_teach.momentum.plots import OKABE_ITO, draw_regime_map
from mbp_teach.panels.base import Panel
from mbp_teach.panels.redraw import fixed_labels, plain_log_ticks, unhinted_text
from mbp_teach.plotting import new_figure
from mbp_teach.validation import as_real_scalar

LOSS_FLOOR = 1e-300  # a loss of exactly 0 (one-step convergence) is drawn at the floor, not as log(0)
BLOW_UP = 1e30  # relative loss beyond which a run counts as diverged and its curve is cut
YLIM = (1e-16, 1e4)
START_BOX = 1.4  # the trajectory axes span [-START_BOX, START_BOX]^2; a start must lie inside


class MomentumLab(Panel):
    """Heavy ball or Nesterov on an n-eigenvalue quadratic; ``update(alpha=, beta=, kappa=, sigma=, method=)``.

    ``use_optimal_gd()`` / ``use_optimal_momentum()`` are what the two buttons call; ``restart_from(x, y)``
    is what a click on the trajectory plot calls. ``seed`` fixes the gradient-noise sequence xi (steps, n),
    so the same setting always draws the same run.
    """

    def __init__(self, n: int = 2, steps: int = 150, alpha: float = 1.0, beta: float = 0.5, kappa: float = 30.0,
                 sigma: float = 0.0, method: str = "heavy ball", seed: int = 0):
        super().__init__()
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps: need an integer >= 2, got {steps!r}")
        mom.spectrum(kappa, n)  # validates n and kappa
        noise._check_method(method)
        self.n, self.steps = n, steps
        self.xi = noise.noise_sequence(seed, steps, n)  # drawn once: a move never redraws the noise
        self.start = np.ones(n)
        self.controls = {
            "alpha": widgets.FloatSlider(value=alpha, min=0.01, max=4.0, step=0.001, description="step α",
                                         readout_format=".3f", continuous_update=True),
            "beta": widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.001, description="momentum β",
                                        readout_format=".3f"),
            "kappa": widgets.FloatLogSlider(value=kappa, base=10, min=0.0, max=4.0, step=0.05,
                                            description="κ = λmax/λmin", readout_format=".3g"),
            "sigma": widgets.FloatSlider(value=sigma, min=0.0, max=0.3, step=0.005, description="gradient noise σ",
                                         readout_format=".3f"),
            "method": widgets.ToggleButtons(options=[("heavy ball", "heavy ball"), ("Nesterov", "nesterov")],
                                            value=method, description="method"),
        }
        self.buttons = [widgets.Button(description="optimal GD"), widgets.Button(description="optimal momentum")]
        self.buttons[0].on_click(lambda _b: self.use_optimal_gd())
        self.buttons[1].on_click(lambda _b: self.use_optimal_momentum())
        self._build()
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self.update()

    # -- figure, built once ---------------------------------------------------------------------
    def _build(self) -> None:
        # Text dominates an Agg redraw (about 1 ms per label), so the figure keeps few labels, no
        # legend, fixed label/title positions (no per-draw layout search) and plain tick labels.
        self.fig, (self.ax_path, self.ax_loss, self.ax_map) = new_figure(1, 3, figsize=(12.5, 3.9), dpi=72)
        ax = self.ax_path
        (self.levels,) = ax.plot([], [], color="0.75", lw=0.7, gid="nan-breaks")  # 9 ellipses, NaN between them
        (self.path,) = ax.plot([], [], "-o", color=OKABE_ITO[5], ms=2.5, lw=1)
        ax.plot([0], [0], "k+", ms=9)
        ax.set_xlim(-START_BOX, START_BOX)
        ax.set_ylim(-START_BOX, START_BOX)
        ax.set_xlabel("w along slowest eigenvector")
        ax.set_ylabel("w along fastest eigenvector")
        ax.set_title("trajectory (click to move w_0)" if self.n == 2 else f"2 of {self.n} directions (click: w_0)",
                     fontsize=10)

        ax = self.ax_loss
        ks = np.arange(self.steps + 1)
        (self.loss,) = ax.semilogy(ks, np.ones(ks.shape), color=OKABE_ITO[4], lw=1.6)
        # the eigen-components of the loss: 1/2 lam_i w_i^2 / f(w_0) for the slowest and the fastest direction
        (self.part_slow,) = ax.semilogy(ks, np.ones(ks.shape), ":", color=OKABE_ITO[0], lw=1.3)
        (self.part_fast,) = ax.semilogy(ks, np.ones(ks.shape), "-.", color=OKABE_ITO[2], lw=1.0)
        (self.theory,) = ax.semilogy(ks, np.ones(ks.shape), "--", color="k", lw=1.2)
        (self.floor,) = ax.semilogy([], [], color=OKABE_ITO[6], lw=1.2)
        ax.set_ylim(*YLIM)
        ax.set_xlim(0, self.steps)
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("step k")
        ax.set_ylabel("relative loss f(w_k) / f(w_0)")
        # the title is static; the rate, which a move changes, is a short text of its own (text is dear)
        ax.set_title("loss; dotted: slowest part, dash-dot: fastest; dashed: rate^(2k)", fontsize=8)
        self.rate_text = ax.text(0.97, 0.95, "", transform=ax.transAxes, ha="right", va="top", fontsize=9)
        self.alarm = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", color="#b00", fontsize=12,
                             fontweight="bold")

        draw_regime_map(self.ax_map, labels=True, fontsize=7, short=True)
        (self.marks,) = self.ax_map.plot([], [], "o", ms=6, mfc=OKABE_ITO[5], mec="w", ls="-", color=OKABE_ITO[5],
                                         lw=1)
        for a in (self.ax_path, self.ax_loss, self.ax_map):
            a.xaxis.set_major_locator(MaxNLocator(4))
            if a is not self.ax_loss:
                a.yaxis.set_major_locator(MaxNLocator(4))
        self.fig.tight_layout()
        fixed_labels(self.fig, x=(0.5, -0.1), y=(-0.14, 0.5))
        unhinted_text(self.fig)
        # a move redraws these over a saved picture of the rest (axes, ticks, regime map)
        self.blit_artists(self.levels, self.path, self.loss, self.part_slow, self.part_fast, self.theory, self.floor,
                          self.marks, self.rate_text, self.alarm)

    # -- what a slider, a button or a click calls ------------------------------------------------
    def lams(self, kappa: float) -> np.ndarray:
        return mom.spectrum(kappa, self.n)

    def use_optimal_gd(self) -> bool:
        lam = self.lams(self.controls["kappa"].value)
        alpha, beta, _ = mom.optimal_gd(lam[0], lam[-1])
        return self.update(alpha=alpha, beta=beta)

    def optimal_on_grid(self, kappa: float, method: str = "heavy ball") -> tuple[float, float, float]:
        """(alpha, beta, worst rate) of the best setting on the sliders' grid for this kappa and method.

        Heavy ball: around Polyak's optimum; Nesterov: around its standard setting (``nesterov.standard_setting``).
        Both optima sit on a square-root edge of the rate, so the grid point is searched, not rounded.
        """
        lam = self.lams(kappa)
        steps = self.controls["alpha"].step, self.controls["beta"].step
        if method == "nesterov":
            a, b, _ = nag.standard_setting(lam[0], lam[-1])
            return mom.best_on_grid(lam[0], lam[-1], *steps, centre=(a, b), worst=nag.worst_rate)
        return mom.best_on_grid(lam[0], lam[-1], *steps)

    def use_optimal_momentum(self) -> bool:
        alpha, beta, _ = self.optimal_on_grid(self.controls["kappa"].value, self.controls["method"].value)
        return self.update(alpha=alpha, beta=beta)

    def restart_from(self, x: float, y: float) -> bool:
        """Start the run at w_0 with slowest component x and fastest y (other components stay 1), and redraw.

        What a click on the trajectory plot calls. x, y must be finite, inside the plotted square, and not
        both 0 (w_0 = 0 is the minimum: nothing to watch).
        """
        x, y = as_real_scalar(x, "x"), as_real_scalar(y, "y")
        if max(abs(x), abs(y)) > START_BOX:
            raise ValueError(f"x, y: the start must lie in [-{START_BOX}, {START_BOX}]^2, got ({x}, {y})")
        if x == 0.0 and y == 0.0 and self.n == 2:
            raise ValueError("x, y: w_0 = 0 is the minimum; start anywhere else")
        self.start = np.ones(self.n)
        self.start[0], self.start[-1] = x, y
        return self.update()

    def _on_click(self, event) -> None:
        # ipympl sends clicks on any axes; only the trajectory plot sets a start, and not while zooming/panning
        if event.inaxes is not self.ax_path or event.xdata is None:
            return
        toolbar = getattr(self.fig.canvas, "toolbar", None)
        if toolbar is not None and getattr(toolbar, "mode", ""):
            return
        try:
            self.restart_from(event.xdata, event.ydata)
        except ValueError as exc:  # a click on the minimum: say so, as a slider's bad setting would
            self.message.value = f"<span style='color:#b00'>⚠ {exc}</span>"

    def simulate(self, alpha: float, beta: float, kappa: float, sigma: float = 0.0,
                 method: str = "heavy ball") -> tuple[np.ndarray, np.ndarray, int]:
        """Trajectory (steps+1, n), relative loss f(w_k)/f(w_0), and the number of steps kept before blow-up.

        Gradients g = lam w + sigma xi_k with this lab's fixed noise xi (steps, n); sigma = 0 is exact.
        """
        lam = self.lams(kappa)
        noise._check_method(method)
        # mom.heavy_ball's recursion (PyTorch convention: z <- beta z + g, w <- w - alpha z) with g = lam w,
        # written out in NumPy: the same operations in the same order (tested equal), without a tensor per step.
        # The run stops being meaningful past BLOW_UP; the slider ranges keep it finite in float64.
        traj = np.empty((self.steps + 1, self.n))
        w, z, prev = self.start.copy(), np.zeros(self.n), self.start.copy()
        traj[0] = w
        noisy = sigma > 0
        with np.errstate(over="ignore", invalid="ignore"):
            if method == "heavy ball":
                for k in range(self.steps):
                    g = lam * w + sigma * self.xi[k] if noisy else lam * w
                    z = beta * z + g
                    w = w - alpha * z
                    traj[k + 1] = w
            else:
                for k in range(self.steps):
                    y = w + beta * (w - prev)
                    g = lam * y + sigma * self.xi[k] if noisy else lam * y
                    w, prev = y - alpha * g, w
                    traj[k + 1] = w
            loss = 0.5 * (traj**2 * lam).sum(-1)
        rel = loss / loss[0]
        bad = ~np.isfinite(rel) | (rel > BLOW_UP)
        kept = int(np.argmax(bad)) if bad.any() else len(rel)
        return traj, rel, kept

    def _update(self, alpha: float, beta: float, kappa: float, sigma: float = 0.0, method: str = "heavy ball") -> str:
        lam = self.lams(kappa)
        traj, rel, kept = self.simulate(alpha, beta, kappa, sigma, method)
        # level sets 1/2 (lmin x^2 + lmax y^2) = c through the start and below it
        c0 = max(0.5 * (lam[0] * self.start[0] ** 2 + lam[-1] * self.start[-1] ** 2), 1e-12)
        t = np.append(np.linspace(0.0, 2.0 * np.pi, 90), np.nan)  # NaN: a break between ellipses
        r = np.sqrt(2 * c0 * 0.35 ** np.arange(9))[:, None]
        self.levels.set_data((r / np.sqrt(lam[0]) * np.cos(t)).ravel(), (r / np.sqrt(lam[-1]) * np.sin(t)).ravel())
        self.path.set_data(traj[:kept, 0], traj[:kept, -1])

        ks = np.arange(kept)
        f0 = 0.5 * float((self.start**2 * lam).sum())
        self.loss.set_data(ks, np.maximum(rel[:kept], LOSS_FLOOR))
        self.part_slow.set_data(ks, np.maximum(0.5 * lam[0] * traj[:kept, 0] ** 2 / f0, LOSS_FLOOR))
        self.part_fast.set_data(ks, np.maximum(0.5 * lam[-1] * traj[:kept, -1] ** 2 / f0, LOSS_FLOOR))
        nesterov = method == "nesterov"
        rates = nag.rate(alpha, beta, lam) if nesterov else mom.rate(alpha, beta, lam)
        rho = float(np.max(rates))
        all_k = np.arange(self.steps + 1)
        with np.errstate(over="ignore", under="ignore"):
            self.theory.set_data(all_k, np.clip(rho ** (2.0 * all_k), LOSS_FLOOR, BLOW_UP))
        b_eff = nag.effective_momentum(alpha, beta, lam) if nesterov else np.full(lam.shape, beta)
        self.marks.set_data(alpha * lam, b_eff)

        slow = int(np.argmax(rates))
        self.rate_text.set_text(f"rate = {rho:.4f}")
        if rho >= 1.0:
            worst = lam[slow]
            self.floor.set_data([], [])
            self.alarm.set_text(f"DIVERGES (rate {rho:.3f} ≥ 1)")
            bound = "" if nesterov else f" (converges only if 0 < αλ < 2 + 2β = {2 + 2 * beta:.3g} for every λ)"
            return (f"⚠ diverges: the direction λ = {worst:.3g} has αλ = {alpha * worst:.3g} and rate {rho:.3f} ≥ 1"
                    + bound + ("; curves stop where the loss passes 1e30" if kept <= self.steps else ""))
        self.alarm.set_text("")
        floor_note = ""
        if sigma > 0:
            level = noise.stationary_loss(alpha, beta, lam, sigma, method) / f0
            self.floor.set_data([0, self.steps], [max(level, LOSS_FLOOR)] * 2)
            floor_note = f"; noise floor (horizontal line) {level:.2g} × f(w_0)"
        else:
            self.floor.set_data([], [])
        to_1e6 = max(1.0, np.log(1e-6) / np.log(rho)) if rho > 0 else 1.0
        if nesterov:
            names = [f"b = {b_eff[i]:.3g}" for i in (0, len(lam) - 1)]
        else:
            names = [mom.regime(float(alpha * lam[i]), beta) for i in (0, len(lam) - 1)]
        who = ("every direction converges at this rate" if np.ptp(rates) <= 1e-6 * max(rho, 1e-300)
               else f"set by the slowest direction, λ = {lam[slow]:.3g}")
        return (f"{'Nesterov' if nesterov else 'heavy ball'}, α = {alpha:.4g}, β = {beta:.4g}, κ = {kappa:.4g}: "
                f"rate {rho:.4f}, {who}; about {to_1e6:.0f} steps per factor 1e6 on the error{floor_note}. "
                f"λmin: {names[0]}, λmax: {names[1]}")

    def widget(self) -> widgets.Widget:
        box = super().widget()
        box.children = (widgets.HBox(self.buttons),) + tuple(box.children)
        return box


def bench_cases():
    """(name, factory, {control: values}) for ``python -m mbp_teach.bench widgets``."""
    sweep = {
        "alpha": list(np.linspace(0.05, 4.0, 12)),
        "beta": list(np.linspace(0.0, 0.99, 12)),
        "kappa": list(np.geomspace(1.0, 1e4, 12)),
        "sigma": list(np.linspace(0.0, 0.3, 12)),
        "method": ["nesterov", "heavy ball"] * 6,
    }
    return [
        ("momentum lab 2-D", lambda: MomentumLab(n=2), sweep),
        ("momentum lab n-D (n=50)", lambda: MomentumLab(n=50), sweep),
    ]
