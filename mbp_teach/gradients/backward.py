"""One switch selects how a solver is differentiated (the Theseus pattern).

Every solver in ``mbp_teach.solvers`` takes ``backward="autograd" | "ift" | "ddn"`` and calls
``dispatch(name, forward, inputs, backward)``. The forward computation is the same for all
modes; only the gradient differs:

- ``"autograd"``: gradients flow through the solver's own operations (SVD, eig, solve);
- ``"ift"``:  the implicit function theorem on the solver's residual F(x, y) = 0
  (``mbp_teach.gradients.implicit``), dy/dx = -(dF/dy)^-1 dF/dx;
- ``"ddn"``:  the solver posed as a declarative node, objective + equality constraints
  (``mbp_teach.gradients.ddn``), with the DDN gradient formula of Gould et al.

``mbp_teach.gradients.implicit`` and ``mbp_teach.gradients.ddn`` each hold a mapping ``BACKWARDS`` from a solver's
name to a function ``impl(forward, *inputs)`` returning what ``forward(*inputs)`` returns, with
the custom backward attached. They are imported lazily so that the solvers do not depend on them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

MODES = ("autograd", "ift", "ddn")
_MODULES = {"ift": "mbp_teach.gradients.implicit", "ddn": "mbp_teach.gradients.ddn"}


def check_mode(backward: str) -> None:
    if backward not in MODES:
        raise ValueError(f"backward: must be one of {', '.join(repr(m) for m in MODES)}, got {backward!r}")


def dispatch(name: str, forward: Callable[..., Any], inputs: tuple, backward: str) -> Any:
    """Run ``forward(*inputs)`` with the gradient chosen by ``backward``."""
    check_mode(backward)
    if backward == "autograd":
        return forward(*inputs)
    table = getattr(importlib.import_module(_MODULES[backward]), "BACKWARDS", {})
    if name not in table:
        raise ValueError(f"backward={backward!r} is not available for {name}; available: {sorted(table) or 'none'}")
    return table[name](forward, *inputs)
