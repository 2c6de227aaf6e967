"""Shared by the tests/hf/test_hf_*.py modules (imported, not collected: no test_ prefix)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread avoids OpenMP spin-waiting on a shared CPU (10x faster under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
