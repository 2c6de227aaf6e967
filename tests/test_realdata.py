import pytest
import torch

from mbp_teach.realdata import N_DIGITS, digits


def test_digits_are_the_bundled_images_in_unit_range_with_a_disjoint_split():
    d = digits()
    assert d.train.shape == (1297, 64) and d.test.shape == (500, 64)
    assert d.train.dtype == torch.float64
    assert float(d.train.min()) == 0.0 and float(d.train.max()) == 1.0
    assert set(d.test_labels.tolist()) == set(range(10))
    # no image appears in both splits (rows are compared exactly)
    both = torch.cat([d.train, d.test])
    assert torch.unique(both, dim=0).shape[0] >= N_DIGITS - 20  # the data set has a few exact duplicates
    assert d.images("test").shape == (500, 8, 8)


def test_smaller_split_is_a_prefix_of_the_same_shuffle_and_seed_changes_it():
    big, small = digits(), digits(100, 50)
    assert torch.equal(small.train, big.train[:100])
    assert not torch.equal(digits(seed=1).train[:10], big.train[:10])


@pytest.mark.parametrize("kw", [{"n_train": 0}, {"n_test": -1}, {"n_train": 1500, "n_test": 400}, {"n_train": 2.5}])
def test_bad_sizes_get_a_clear_error(kw):
    with pytest.raises(ValueError, match="n_train|n_test"):
        digits(**kw)
