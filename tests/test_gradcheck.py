"""compare(): one row per method, errors against the reference, failures counted, table printing."""

import math

import pytest
import torch

from mbp_teach import gradcheck as gc
from mbp_teach import gradient_problems as gp


def test_compare_rows_for_kabsch():
    x = gp.inputs("kabsch", 1, seed=0)
    table = gc.compare(gp.loss("kabsch"), x)
    assert [r.method for r in table] == list(gc.METHODS)
    for r in table:
        assert r.nonfinite == 0 and r.backward_ms >= 0
        assert r.rel_error < (1e-6 if r.method == "fd" else 1e-9)
    text = str(table)
    assert "method" in text and "ms" not in text and "ift" in text
    assert "time (ms)" in table.format(times=True)


def test_compare_counts_non_finite_gradients():
    def loss(backward, x):
        return torch.sqrt(x).sum()  # d/dx sqrt at 0 is inf

    x = torch.tensor([0.0, 1.0], dtype=torch.float64)
    table = gc.compare(loss, (x,), methods=("autograd",), reference=(torch.tensor([1.0, 0.5], dtype=torch.float64),))
    assert table.row("autograd").nonfinite == 1 and math.isinf(table.row("autograd").rel_error)
    with pytest.raises(KeyError):
        table.row("ift")


def test_decade():
    assert gc.decade(3.2e-13) == "< 1e-12"
    assert gc.decade(1e-12) == "< 1e-11"
    assert gc.decade(0.0) == "0" and gc.decade(0.25) == "0.25" and gc.decade(math.nan) == "not finite"


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown"):
        gc.compare(lambda b, x: x.sum(), (torch.ones(1, dtype=torch.float64),), methods=("magic",))


def test_claim_prints_the_decade_and_asserts(capsys):
    gc.claim("err", 3.2e-13, 1e-6)
    assert "err: < 1e-12  (claim: <= 1e-06)  OK" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        gc.claim("err", 1e-3, 1e-6)
    with pytest.raises(AssertionError):
        gc.claim("err", math.nan, 1e-6)
