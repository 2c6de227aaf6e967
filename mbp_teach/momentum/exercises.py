"""Checkers for notebooks 04 (heavy ball on quadratics) and 05 (adaptive momentum)."""

from __future__ import annotations

import numpy as np

from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.momentum import heavy_ball as mom

# (alpha, beta, lam) cases the notebook does not show: real roots, complex roots, critical
# damping, one-step convergence, divergence on either side.
_RATE_CASES = [(0.5, 0.0, 1.0), (1.0, 0.0, 1.0), (0.3, 0.05, 1.0), (1.0, 0.6, 1.0), (1.9, 0.01, 1.0),
               (2.5, 0.1, 1.0), (0.25, 0.25, 1.0), (4.0, 0.9, 0.5), (0.1, 0.99, 0.02), (3.0, 0.0, 1.0)]


def _rate_wrong_abs_of_sum(alpha, beta, lam):
    disc = (1 + beta - alpha * lam) ** 2 - 4 * beta
    return abs((1 + beta - alpha * lam) / 2) + np.sqrt(max(disc, 0.0)) / 2


def _rate_wrong_gd_only(alpha, beta, lam):
    return abs(1 - alpha * lam)


def _rate_wrong_library_call(alpha, beta, lam):
    return mom.rate(alpha, beta, lam)


def _calls_library_rate(fn) -> bool:
    """True if fn is the package's rate/worst_rate, or its code names them (``rate(...)`` imported from the
    package, or ``mom.rate(...)``): the exercise is to compute the roots, not to call the answer."""
    library = (mom.rate, mom.worst_rate)
    if any(fn is f for f in library):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    scope = dict(getattr(fn, "__globals__", {}))
    scope.update({name: cell.cell_contents for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True)
                  if _has_contents(cell)})
    for name in code.co_names + code.co_freevars:
        obj = scope.get(name)
        if any(obj is f for f in library):
            return True
        if obj is mom and {"rate", "worst_rate"} & set(code.co_names):
            return True
    return False


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty closure cell raises ValueError
    except ValueError:
        return False
    return True


@exercise("04.rate", wrong=[(_rate_wrong_gd_only, "momentum"), (_rate_wrong_abs_of_sum, "complex"),
                            (mom.rate, "write it yourself"), (_rate_wrong_library_call, "write it yourself")])
def check_rate(fn) -> str:
    """fn(alpha, beta, lam) -> spectral radius of R = [[beta, lam], [-alpha beta, 1 - alpha lam]]."""
    if _calls_library_rate(fn):
        raise Hint("your function is (or calls) mbp_teach's own rate(): write it yourself, from the roots of "
                   "mu^2 - (1 + beta - alpha lam) mu + beta = 0")
    for alpha, beta, lam in _RATE_CASES:
        got = float(fn(alpha, beta, lam))
        want = float(mom.rate(alpha, beta, lam))
        if np.isclose(got, want, rtol=1e-8, atol=1e-10):
            continue
        disc = (1 + beta - alpha * lam) ** 2 - 4 * beta
        where = f"at alpha={alpha}, beta={beta}, lam={lam}: expected {want:.6f}, got {got:.6f}"
        if beta > 0 and np.isclose(got, abs(1 - alpha * lam)):
            raise Hint(f"{where}. That is gradient descent's factor |1 - alpha lam|: the momentum term is missing")
        if disc < 0:
            raise Hint(f"{where}. Here the roots of mu^2 - (1 + beta - alpha lam) mu + beta are complex, so "
                       "their modulus is sqrt(beta) (det R = beta): use complex arithmetic or that identity")
        raise Hint(f"{where}. The rate is the LARGER modulus of the two roots of "
                   "mu^2 - (1 + beta - alpha lam) mu + beta = 0")
    return f"matches rate() on {len(_RATE_CASES)} hidden cases, real and complex roots, convergent and not"


def _grouped_reference(gs, dws, eta, tau):
    out = []
    for g, dw in zip(gs, dws, strict=True):
        nd = np.linalg.norm(dw)
        out.append(-eta * g + (tau * np.linalg.norm(g) / nd * dw if nd > 0 else 0.0 * dw))
    return out


def _grouped_wrong_global(gs, dws, eta, tau):
    ng = np.sqrt(sum(np.linalg.norm(g) ** 2 for g in gs))
    nd = np.sqrt(sum(np.linalg.norm(d) ** 2 for d in dws))
    tau_k = tau * ng / nd if nd > 0 else 0.0
    return [-eta * g + tau_k * d for g, d in zip(gs, dws, strict=True)]


def _grouped_wrong_no_guard(gs, dws, eta, tau):
    with np.errstate(all="ignore"):
        return [-eta * g + tau * np.linalg.norm(g) / np.linalg.norm(d) * d for g, d in zip(gs, dws, strict=True)]


@exercise("05.grouped_step", wrong=[(_grouped_wrong_global, "one coefficient"), (_grouped_wrong_no_guard, "dw_k^l = 0")])
def check_grouped_step(fn) -> str:
    """fn(gs, dws, eta, tau) -> [dw_{k+1}^l]: per group l, -eta g^l + tau_k^l dw^l, tau_k^l = tau ||g^l|| / ||dw^l||."""
    rng = np.random.default_rng(2008)
    cases = []
    for scales in ((1.0, 1.0), (1e-3, 10.0), (5.0, 0.0), (0.0, 0.0, 0.0)):
        gs = [rng.normal(size=k + 2) for k in range(len(scales))]
        dws = [rng.normal(size=k + 2) * s for k, s in enumerate(scales)]
        cases.append((gs, dws, 0.1, 0.3))
    for gs, dws, eta, tau in cases:
        with np.errstate(all="ignore"):
            got = fn([g.copy() for g in gs], [d.copy() for d in dws], eta, tau)
        want = _grouped_reference(gs, dws, eta, tau)
        try:
            got = [np.asarray(v, dtype=float) for v in got]
        except TypeError as exc:
            raise Hint(f"return a list with one step per group, got {type(got).__name__}") from exc
        if len(got) != len(want) or any(a.shape != b.shape for a, b in zip(got, want, strict=True)):
            raise Hint(f"return one step per group, shaped like its gradient: expected shapes "
                       f"{[w.shape for w in want]}, got {[g.shape for g in got]}")
        if all(np.allclose(a, b, rtol=1e-10, atol=1e-12) for a, b in zip(got, want, strict=True)):
            continue
        if any(np.linalg.norm(d) == 0 for d in dws) and not all(np.isfinite(a).all() for a in got):
            raise Hint("a group whose previous step dw_k^l = 0 gets tau_k^l = 0 (no division by ||dw_k^l|| = 0)")
        glob = _grouped_wrong_global(gs, dws, eta, tau)
        if all(np.allclose(a, b, rtol=1e-10, atol=1e-12) for a, b in zip(got, glob, strict=True)):
            raise Hint("that is one coefficient for all groups (norms over every parameter); each group l needs "
                       "its own tau_k^l = tau ||g_k^l|| / ||dw_k^l||")
        raise Hint("for each group l the step is -eta g_k^l + tau_k^l dw_k^l, and its momentum term must have "
                   "length tau ||g_k^l||")
    return ("matches the per-group rule on 4 hidden cases, including groups whose previous step is zero "
            "(a first step, or a layer that did not move)")
