"""The pattern behind every interactive control: build the figure once, then update artists.

A ``Panel`` owns its controls and one figure. Moving a control calls ``update(**values)``,
a plain method a test can call without a browser; it changes artists with ``set_data`` and
asks for a redraw. A ``ValueError`` raised while updating (a degenerate setting, a
divergent run) is shown in the panel's message line instead of a stack trace.

Redraw by blitting: a panel that declares the artists a move changes (``self.blit_artists(...)``)
is redrawn by restoring a saved picture of everything else and drawing only those artists, then
``canvas.blit()``: ipympl sends that frame to the browser directly (a diff image). Without it, or
while no valid background exists (first display, a resize, a new dpi ratio, after ``savefig``),
the panel asks for ``draw_idle``: the browser then requests a full ``canvas.draw()``, which also
saves a new background. Axes whose limits follow the data (``follow=``) are redrawn by a move
that changes their limits, and kept in a second saved picture otherwise.

Without ipympl (Colab, where its front end is often broken, or an install without it) figures are
plain Agg figures: the panel then shows its figure as an ``ipywidgets.Image`` and re-renders that
PNG after every move, so the controls still work, only less smoothly (see ``notebook.use_backend``).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import matplotlib


class Panel:
    """Base class: subclasses create ``self.fig`` and ``self.controls`` then implement ``_update``.

    ``controls`` maps a keyword of ``_update`` to an ipywidgets control; ``update`` may be
    called with any subset of them (the rest keep their current values).
    """

    fig: Any
    controls: Mapping[str, widgets.ValueWidget]
    _silent: bool = False  # True while update() moves controls, so their callbacks do not fire again
    #: What a subclass defines: ``_update(**values)`` with one keyword per control (so each panel names its
    #: own, e.g. ``_update(self, alpha, beta)``), changes the artists and returns a message or None.
    #: Declared as an attribute, not a method, because every panel's signature differs.
    _update: Callable[..., str | None]

    def __init__(self) -> None:
        self.message = widgets.HTML(value="")
        self.last_error: str | None = None
        self._wired = False
        self.blitter: Blitter | None = None
        self.still: widgets.Image | None = None  # the figure as a PNG, where no ipympl canvas exists

    # -- what tests and callbacks call ------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {k: c.value for k, c in self.controls.items()}

    def update(self, **changes: Any) -> bool:
        """Apply ``changes`` to the controls (without re-firing callbacks) and redraw.

        Returns True when the figure was updated, False when the setting was refused; the
        reason is then in ``last_error`` and in the panel's message line.
        """
        unknown = set(changes) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; known: {sorted(self.controls)}")
        with self._quiet():
            for k, v in changes.items():
                self.controls[k].value = v
            for c in self.controls.values():
                snapped = on_grid(c, c.value)
                if snapped != c.value:
                    c.value = snapped
        try:
            note = self._update(**self.values())
        except ValueError as exc:
            self.last_error = str(exc)
            self.message.value = f"<span style='color:#b00'>⚠ {html.escape(str(exc))}</span>"
            self.redraw()
            return False
        self.last_error = None
        self.message.value = html.escape(note) if isinstance(note, str) else ""
        self.redraw()
        return True

    def _refresh_still(self) -> None:
        if self.still is not None:
            self.still.value = figure_png_bytes(self.fig)

    def blit_artists(self, *artists, follow=()) -> None:
        """Declare every artist a move can change; later moves redraw only these (see the module doc).

        ``follow``: axes (``ax.yaxis``) whose limits follow the data, redrawn when they change."""
        self.blitter = Blitter(self.fig, artists, follow)

    def redraw(self) -> str:
        """Blit the changed artists when a background is saved, else ask for a full draw; says which.

        Without an ipympl canvas the displayed PNG is rendered again ("still")."""
        if self.still is not None:
            self._refresh_still()
            return "still"
        if self.blitter is not None and self.blitter.blit():
            return "blit"
        self.fig.canvas.draw_idle()
        return "full"

    # -- what the notebook displays --------------------------------------------------
    def widget(self) -> widgets.Widget:
        """Controls, figure and message line in one box; wires the callbacks once."""
        if not self._wired:
            for c in self.controls.values():
                c.observe(self._on_change, names="value")
                c.style.description_width = "initial"  # labels carry a symbol and a unit: show them whole
            self._wired = True
        canvas = self.fig.canvas
        if isinstance(canvas, widgets.DOMWidget):
            view = canvas
        else:  # inline backend (Colab, no ipympl): a PNG that every move renders again
            view = self.still = widgets.Image(format="png", layout=widgets.Layout(width="auto"))
            self._refresh_still()
        return PanelBox([widgets.HBox(list(self.controls.values())), view, self.message], figure=self.fig)

    def _on_change(self, _change) -> None:
        if self._silent:
            return
        self.update()

    def _quiet(self):
        panel = self

        class _Quiet:
            def __enter__(self):
                panel._silent = True

            def __exit__(self, *exc):
                panel._silent = False

        return _Quiet()


class Blitter:
    """Redraws ``artists`` over a saved background (the figure drawn without them).

    The artists are marked ``animated``: a full ``canvas.draw()`` leaves them out, then this
    object's ``draw_event`` handler saves the background and draws them on top, so the frame is
    complete. ``savefig`` draws animated artists itself; the background is then dropped (the
    next move asks for a full draw). A background is used only at the figure size and dpi it
    was saved at.

    ``follow``: axes (``ax.xaxis``, ...) whose limits or label follow the data. They are left out
    of the background too; the picture with them drawn is kept, per state of their limits and
    labels (the last ``KEEP`` states), so only a move to a new state pays for drawing their ticks
    (text is the dearest thing to draw).
    """

    KEEP = 8  # pictures with the follow axes drawn (each is one figure-sized RGBA buffer)

    def __init__(self, fig, artists, follow=()) -> None:
        self.fig = fig
        self.artists = list(artists)
        self.follow = list(follow)
        for a in self.artists + self.follow:
            a.set_animated(True)
        self.background = None
        self._key = None
        self._with_axes: dict = {}  # axes state -> background with the follow axes drawn
        fig.canvas.mpl_connect("draw_event", self._on_draw)

    def _state(self):
        return (tuple(self.fig.bbox.bounds), self.fig.dpi, id(self.fig.canvas))

    def _axes_state(self):
        return tuple((tuple(ax.get_view_interval()), ax.get_scale(), ax.label.get_text()) for ax in self.follow)

    def _on_draw(self, event) -> None:
        canvas = self.fig.canvas
        self._with_axes = {}
        if canvas.is_saving() or not hasattr(canvas, "copy_from_bbox"):
            self.background = None
            return
        self.background = canvas.copy_from_bbox(self.fig.bbox)
        self._key = self._state()
        self._draw_follow()
        self._draw(self.artists)

    def _draw(self, artists) -> None:
        # a figure drawn with its own text settings (panels.fast.unhinted_text) gets them here too
        # (one key set and restored: rc_context would copy every rcParam, about 1 ms)
        hinting = getattr(self.fig, "mbp_text_hinting", None)
        before = matplotlib.rcParams["text.hinting"]
        if hinting:
            matplotlib.rcParams["text.hinting"] = hinting
        try:
            for a in artists:
                if a.get_visible():
                    self.fig.draw_artist(a)
        finally:
            matplotlib.rcParams["text.hinting"] = before

    def invalidate(self) -> None:
        """Drop the saved pictures (call after changing something static): the next move draws in full."""
        self.background = None
        self._with_axes = {}

    def _draw_follow(self) -> None:
        """Draw the follow axes over the restored background and keep that picture."""
        if self.follow:
            self._draw(self.follow)
            if len(self._with_axes) >= self.KEEP:
                self._with_axes.pop(next(iter(self._with_axes)))  # the oldest
            self._with_axes[self._axes_state()] = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def blit(self) -> bool:
        """Restore the background, draw the artists, push the frame; False if no valid background."""
        if self.background is None or self._key != self._state():
            return False
        canvas = self.fig.canvas
        saved = self._with_axes.get(self._axes_state()) if self.follow else None
        if saved is not None:
            canvas.restore_region(saved)
        else:
            canvas.restore_region(self.background)
            self._draw_follow()
        self._draw(self.artists)
        # ipympl would send only the pixels that changed (a diff image), composited in the browser on the
        # frame before. A browser that missed a frame, or got a diff before its first full frame (seen in
        # make e2e after Run All), then shows the moved artists on an empty canvas for good. So each move
        # sends the whole (already rendered) frame: a larger PNG, but no redraw.
        if hasattr(canvas, "_force_full"):
            canvas._force_full = True
        canvas.blit(self.fig.bbox)
        return True


def on_grid(control: widgets.ValueWidget, value: Any) -> Any:
    """``value`` moved to the nearest position of ``control``'s slider grid.

    A browser shows a slider only at min + k step (or base^(min + k step) for a log slider) and
    sends that rounded value back: a kernel that set 3.306 on a 0.01 grid ends up holding 3.31
    after "Run All". Putting the value on the grid first makes kernel and browser agree.
    Values already on the grid (to 1e-9 of a step) are returned unchanged, bit for bit.
    """
    if not isinstance(control, (widgets.FloatSlider, widgets.FloatLogSlider)) or not control.step:
        return value
    log = isinstance(control, widgets.FloatLogSlider)
    if log and not value > 0:
        return value
    x = math.log(value, control.base) if log else value
    k = (x - control.min) / control.step
    if abs(k - round(k)) <= 1e-9 and control.min <= x <= control.max:
        return value
    x = min(max(control.min + round(k) * control.step, control.min), control.max)
    return round(control.base ** x if log else x, 12)


class PanelBox(widgets.VBox):
    """A panel's box, displayed live where a kernel runs and as a still picture elsewhere.

    Its display bundle carries, next to the widget view, a PNG of the figure as it was when the
    cell ran: GitHub, nbconvert and the static site (which have no kernel) show that picture.
    """

    def __init__(self, children, figure, **kwargs):
        super().__init__(children, **kwargs)
        self._figure = figure

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["image/png"] = figure_png(self._figure)
        return data


def figure_png_bytes(fig) -> bytes:
    """The figure as PNG bytes at 72 dpi."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, metadata={"Software": None})
    return buf.getvalue()


def figure_png(fig) -> str:
    """The figure as a base64 PNG at 72 dpi, as a notebook stores it."""
    return base64.b64encode(figure_png_bytes(fig)).decode("ascii")
