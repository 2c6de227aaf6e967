"""compare(): one row per method, errors against the reference, failures counted, table printing."""

import math

import pytest
import torch

from mbp_teach.gradients import compare as gc
from mbp_teach.gradients import problems as gp


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


def test_format_with_bounds_prints_bounds_and_asserts():
    x = gp.inputs("kabsch", 1, seed=0)
    table = gc.compare(gp.loss("kabsch"), x)
    bounds = {"autograd": 1e-7, "ift": 1e-7, "ddn": 1e-7, "fd": 1e-5}
    text = table.format(bounds=bounds)
    assert text.count("< 1e-07") == 3 and text.count("< 1e-05") == 1
    with pytest.raises(AssertionError):
        table.format(bounds=dict(bounds, fd=1e-30))


@pytest.mark.parametrize("version, release", [("2.13.0+cpu", "2.13"), ("2.13.1", "2.13"), ("3.0.0a0+git1", "3.0")])
def test_torch_release(version, release):
    assert gc.torch_release(version) == release


def test_torch_release_refuses_garbage():
    with pytest.raises(ValueError, match="version"):
        gc.torch_release("nightly")


def test_expect_svd_backward_failure_is_keyed_to_the_release():
    known = gc.SVD_BACKWARD_RELEASES[0]
    gc.expect_svd_backward_failure(True, "NaN at repetition", version="9.9.0")      # still fails: fine anywhere
    gc.expect_svd_backward_failure(True, "NaN at repetition", version=f"{known}.0")
    with pytest.raises(AssertionError, match=r"torch 9\.9 changed SVD's backward: NaN at repetition no longer shows"):
        gc.expect_svd_backward_failure(False, "NaN at repetition", version="9.9.0+cpu")
    with pytest.raises(AssertionError, match="Revisit notebook 02"):
        gc.expect_svd_backward_failure(False, "NaN at repetition", version="9.9.0")
    with pytest.raises(AssertionError, match=f"torch {known}: NaN at repetition no longer shows, although it did"):
        gc.expect_svd_backward_failure(False, "NaN at repetition", version=f"{known}.0")



def test_backward_ops_counts_the_backward_alone():
    x = gp.inputs("kabsch", 2, seed=2)
    autograd = gc.backward_ops(gp.loss("kabsch"), "autograd", x)
    ift = gc.backward_ops(gp.loss("kabsch"), "ift", x)
    assert 0 < autograd < ift                       # the 3 x 3 SVD backward is a few dozen operations
    assert gc.backward_ops(gp.loss("kabsch"), "autograd", x) == autograd
