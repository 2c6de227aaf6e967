"""The Panel pattern: update() redraws artists, refuses bad settings visibly, wires callbacks."""

import ipywidgets as widgets
import pytest

from mbp_teach.panel import Panel, new_figure


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

    from mbp_teach.panel import on_grid

    lin = widgets.FloatSlider(min=0.01, max=4.0, step=0.01)
    log = widgets.FloatLogSlider(base=10, min=0.0, max=4.0, step=0.05)
    assert on_grid(lin, 3.306) == 3.31 and on_grid(lin, 2.5) == 2.5 and on_grid(lin, 9.0) == 4.0
    assert math.isclose(on_grid(log, 30.0), 10 ** 1.5) and on_grid(log, 100.0) == 100.0
    assert on_grid(widgets.IntSlider(), 3) == 3
    p = Line()
    p.update(slope=0.123456)  # FloatSlider's default step is 0.1
    assert p.controls["slope"].value == pytest.approx(0.1) and list(p.line.get_ydata()) == [0, p.controls["slope"].value]
