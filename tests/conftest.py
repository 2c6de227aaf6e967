"""One intra-op torch thread for the unit tests, as in the notebooks (``nbk.setup``): results do not
depend on the core count, and small batched linear algebra is faster than with two threads
competing for a busy CPU."""

import torch

torch.set_num_threads(1)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _torch_defaults_restored():
    """A test that runs an experiment or a notebook helper in-process calls ``nbk.setup()``, which sets the
    default dtype to float64 for the lesson; put it back so that later tests see torch's float32 default."""
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(1)
