import math

import pytest
import torch

from mbp_teach import validation as v


def test_shape_and_batch_dims():
    v.check_shape(torch.zeros(4, 3), "P", (None, 3))
    v.check_shape(torch.zeros(2, 5, 4, 3), "P", (None, 3))
    with pytest.raises(ValueError, match=r"P: expected shape \(\.\.\., N, 3\), got \(4, 2\)"):
        v.check_shape(torch.zeros(4, 2), "P", (None, 3))
    with pytest.raises(ValueError, match="P: expected shape"):
        v.check_shape(torch.zeros(3), "P", (None, 3))


def test_finite():
    v.check_finite(torch.ones(3), "x")
    with pytest.raises(ValueError, match="x: contains 2 NaN or infinite"):
        v.check_finite(torch.tensor([1.0, math.nan, math.inf]), "x")


def test_as_tensor():
    assert v.as_tensor([[1, 2]], "x").dtype == torch.float64
    with pytest.raises(ValueError, match="floating-point"):
        v.as_tensor(torch.ones(2, dtype=torch.int64), "x")
    with pytest.raises(ValueError, match="cannot be read"):
        v.as_tensor("abc", "x")


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf, "1", True])
def test_positive_refuses(value):
    with pytest.raises(ValueError, match="lr"):
        v.check_positive(value, "lr")


def test_positive_and_range_accept():
    v.check_positive(0.0, "damping", allow_zero=True)
    v.check_range(0.5, "beta", 0.0, 1.0, closed="left")
    with pytest.raises(ValueError, match=r"beta: must lie in \[0.0, 1.0\)"):
        v.check_range(1.0, "beta", 0.0, 1.0, closed="left")


def test_as_real_scalar_reads_every_real_scalar_type():
    import numpy as np

    for x in (0.5, np.float32(0.5), np.float64(0.5), np.array(0.5), torch.tensor(0.5), torch.tensor(0.5, dtype=torch.float16)):
        out = v.as_real_scalar(x, "beta")
        assert type(out) is float and out == 0.5
    assert v.as_real_scalar(np.int64(3), "n") == 3.0
    for bad, why in ((True, "real number"), (1j, "real number"), ("1", "real number"), (math.nan, "finite"),
                     (torch.ones(2), "real scalar"), (np.ones(1), "real scalar"), (torch.tensor(1j), "real scalar")):
        with pytest.raises(ValueError, match=f"beta: expected a {why}"):
            v.as_real_scalar(bad, "beta")
