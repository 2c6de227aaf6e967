"""One intra-op torch thread for the unit tests, as in the notebooks (``nbk.setup``): results do not
depend on the core count, and small batched linear algebra is faster than with two threads
competing for a busy CPU."""

import torch

torch.set_num_threads(1)
