"""Real data that ships inside installed wheels: nothing is downloaded at run time.

- ``digits()``: scikit-learn's bundled handwritten digits (1,797 images of 8 x 8 pixels, 16 grey
  levels; the UCI "optdigits" test set). It is the offline analogue of the MNIST autoencoder
  experiments of Hinton & Salakhutdinov (2006) and Martens (2010).

The stereo pair with ground-truth disparity (scikit-image) lives with the solvers that use it,
in ``mbp_teach.solvers.stereo``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

N_DIGITS = 1797
SIDE = 8


@dataclass(frozen=True)
class Digits:
    """A fixed split of the digits.

    train, test: (n, 64) pixel intensities in [0, 1] (row-major 8 x 8 images);
    train_labels, test_labels: (n,) int64 class 0-9.
    """

    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor
    test_labels: torch.Tensor

    def images(self, split: str = "test") -> torch.Tensor:
        """(n, 8, 8) view of one split, for imshow."""
        return getattr(self, split).reshape(-1, SIDE, SIDE)


def digits(n_train: int = 1297, n_test: int = 500, *, seed: int = 0, dtype: torch.dtype = torch.float64) -> Digits:
    """scikit-learn's bundled digits, scaled to [0, 1], shuffled once by ``seed`` and split.

    n_train + n_test <= 1797 images are used (the first n_train of the shuffled order train, the
    next n_test test), so a smaller, faster problem is a prefix of the same shuffle.
    """
    from sklearn.datasets import load_digits  # imported here: only the digit notebooks pay for it

    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name}: need a positive integer, got {n!r}")
    if n_train + n_test > N_DIGITS:
        raise ValueError(f"n_train + n_test: at most {N_DIGITS} images exist, asked for {n_train + n_test}")
    bunch = load_digits()
    x = torch.as_tensor(bunch.data / 16.0, dtype=dtype)  # grey levels 0..16 -> [0, 1]
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(N_DIGITS, generator=torch.Generator().manual_seed(seed))
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    return Digits(x[tr].contiguous(), x[te].contiguous(), y[tr], y[te])
