"""The Panel pattern: update() redraws artists, refuses bad settings visibly, wires callbacks."""

import ipywidgets as widgets
import pytest

from mbp_teach.panels.base import Panel
from mbp_teach.plotting import new_figure


class Line(Panel):
    def __init__(self):
        super().__init__()
        self.fig, self.ax = new_figure()
        (self.line,) = self.ax.plot([0, 1], [0, 0])
        self.controls = {"slope": widgets.FloatSlider(value=0.0, min=-2, max=2)}

    def _update(self, slope):
        if slope < -1.5:
            raise ValueError("slope below -1.5 is refused")
        self.line.set_data([0, 1], [0, slope])
        return f"slope {slope}"


def test_update_changes_artist_and_control():
    p = Line()
    assert p.update(slope=1.0)
    assert list(p.line.get_ydata()) == [0, 1.0]
    assert p.controls["slope"].value == 1.0
    assert p.last_error is None and "slope 1.0" in p.message.value


def test_refused_setting_is_shown_not_raised():
    p = Line()
    assert not p.update(slope=-2.0)
    assert "refused" in p.last_error and "refused" in p.message.value


def test_moving_the_control_fires_update():
    p = Line()
    box = p.widget()
    assert isinstance(box, widgets.VBox)
    p.controls["slope"].value = 0.5
    assert list(p.line.get_ydata()) == [0, 0.5]


def test_unknown_control():
    with pytest.raises(ValueError, match="unknown control"):
        Line().update(intercept=1)


def test_panel_box_carries_a_still_picture_for_kernel_free_viewers():
    import base64

    p = Line()
    p.update(slope=1.0)
    bundle = p.widget()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_values_are_put_on_the_slider_grid_as_a_browser_shows_them():
    import math

    from mbp_teach.panels.base import on_grid

    lin = widgets.FloatSlider(min=0.01, max=4.0, step=0.01)
    log = widgets.FloatLogSlider(base=10, min=0.0, max=4.0, step=0.05)
    assert on_grid(lin, 3.306) == 3.31 and on_grid(lin, 2.5) == 2.5 and on_grid(lin, 9.0) == 4.0
    assert math.isclose(on_grid(log, 30.0), 10 ** 1.5) and on_grid(log, 100.0) == 100.0
    assert on_grid(widgets.IntSlider(), 3) == 3
    p = Line()
    p.update(slope=0.123456)  # FloatSlider's default step is 0.1
    assert p.controls["slope"].value == pytest.approx(0.1) and list(p.line.get_ydata()) == [0, p.controls["slope"].value]


# -- blitting: a move redraws only the declared artists, and the frame looks like a full draw ------------
def _blitting_line():
    p = Line()  # on the session's backend: Agg headless, ipympl in the subprocess test below
    p.ax.set_xlim(0, 1)
    p.ax.set_ylim(-2, 2)
    p.blit_artists(p.line, p.ax.title)
    return p


def test_blitting_needs_a_background_then_blits_until_the_size_changes():
    p = _blitting_line()
    assert p.redraw() == "full"  # nothing drawn yet: the browser must draw everything once
    p.fig.canvas.draw()
    assert p.redraw() == "blit"
    p.fig.set_size_inches(3, 2)  # ipympl resizes the figure: the saved background no longer fits
    assert p.redraw() == "full"
    p.fig.canvas.draw()
    assert p.redraw() == "blit"
    p.fig.savefig(__import__("io").BytesIO(), format="png")  # savefig draws everything: background dropped
    assert p.redraw() == "full"


def test_blitted_frame_equals_a_full_draw():
    import numpy as np

    p = _blitting_line()
    p.fig.canvas.draw()
    p.update(slope=1.5)
    p.ax.set_title("slope 1.5")
    p.redraw()
    blitted = np.asarray(p.fig.canvas.buffer_rgba()).copy()
    for a in p.blitter.artists:
        a.set_animated(False)
    p.blitter.artists = p.blitter.follow = []  # a plain figure: everything drawn once, in z-order
    p.fig.canvas.draw()
    differ = (blitted != np.asarray(p.fig.canvas.buffer_rgba())).any(-1)
    # only where the line crosses a spine: blitted artists are drawn over the frame, not under it
    x0, y0, w, h = p.ax.bbox.bounds
    ys, xs = np.nonzero(differ)
    assert 0 < differ.sum() < 40
    assert np.minimum(np.abs(xs - x0), np.abs(xs - (x0 + w))).max() <= 3


def test_savefig_shows_the_blitted_artists():
    import base64

    p = _blitting_line()
    p.fig.canvas.draw()
    p.update(slope=1.0)
    png_blit = base64.b64decode(__import__("mbp_teach.panels.base", fromlist=["figure_png"]).figure_png(p.fig))
    for a in p.blitter.artists:
        a.set_animated(False)
    png_plain = base64.b64decode(__import__("mbp_teach.panels.base", fromlist=["figure_png"]).figure_png(p.fig))
    assert png_blit == png_plain


def test_ipympl_gets_a_blitted_frame_without_asking_the_browser_for_a_draw():
    """In ipympl, canvas.blit() sends the changed pixels at once; draw_idle would need a browser round trip."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import matplotlib
        matplotlib.use("module://ipympl.backend_nbagg")
        from tests.panels.test_panel_base import _blitting_line
        p = _blitting_line()
        c = p.fig.canvas
        sent, asked = [], []
        c.send_binary = lambda data: sent.append(data)
        c.draw_idle = lambda *a, **k: asked.append(1)
        assert p.redraw() == "full" and asked  # first display: the browser draws everything
        c.draw()
        before = len(sent)
        assert p.update(slope=1.0) and not asked[1:]
        assert len(sent) == before + 1 and sent[-1][:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        # a whole frame, not a diff: a browser that missed a frame would show the artists on an empty canvas
        assert c._current_image_mode == "full"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=__import__("pathlib").Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
