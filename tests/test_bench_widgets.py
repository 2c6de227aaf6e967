"""The widget benchmark finds every panel module by itself."""

import importlib
import inspect
import pkgutil

from mbp_teach import panels
from mbp_teach.bench import widgets
from mbp_teach.panel import Panel


def test_every_module_defining_a_panel_is_benchmarked():
    with_panels = []
    for m in pkgutil.iter_modules(panels.__path__):
        mod = importlib.import_module(f"{panels.__name__}.{m.name}")
        if any(issubclass(c, Panel) and c.__module__ == mod.__name__ for _, c in inspect.getmembers(mod, inspect.isclass)):
            with_panels.append(mod.__name__)
    assert with_panels and set(with_panels) <= set(widgets.panel_modules())
