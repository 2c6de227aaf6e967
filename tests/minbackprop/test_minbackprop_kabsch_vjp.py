"""The closed-form Kabsch angle gradient (IFT) and the batched rotation toy built on it (toy lab, issue 18)."""

import numpy as np
import pytest
import torch

from mbp_teach.data import rotation_angle
from mbp_teach.minbackprop import toys
from mbp_teach.solvers import kabsch


@pytest.fixture(autouse=True)
def float64_default():
    """train_weights builds the toy in the default dtype: float64, as nbk.setup() sets it in the notebooks."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def random_problems(batch=16, n=6, seed=0, noise=0.3):
    """Batches of (P, Q, w): Q a rotated, noisy copy of P (some far from it), positive weights."""
    g = np.random.default_rng(seed)
    P = g.normal(size=(batch, n, 3))
    A = torch.linalg.matrix_exp(torch.from_numpy(_skew(g.normal(size=(batch, 3)) * 1.5))).numpy()
    Q = np.einsum("bij,bnj->bni", A, P) + noise * g.normal(size=(batch, n, 3))
    w = g.uniform(0.1, 2.0, size=(batch, n))
    return P, Q, w


def _skew(x):
    z = np.zeros(x.shape[:-1])
    return np.stack([np.stack([z, -x[..., 2], x[..., 1]], -1), np.stack([x[..., 2], z, -x[..., 0]], -1),
                     np.stack([-x[..., 1], x[..., 0], z], -1)], -2)


def torch_angle_grad(P, Q, w, backward):
    wt = torch.from_numpy(w).requires_grad_(True)
    theta = rotation_angle(kabsch(torch.from_numpy(P), torch.from_numpy(Q), wt, backward=backward))
    (g,) = torch.autograd.grad(theta.sum(), wt)
    return theta.detach().numpy(), g.numpy()


@pytest.mark.parametrize("backward", ["autograd", "ift"])
def test_closed_form_matches_the_solvers_gradients(backward):
    P, Q, w = random_problems()
    theta, grad = toys.kabsch_angle_grad(P, Q, w)
    theta_t, grad_t = torch_angle_grad(P, Q, w, backward)
    assert np.abs(theta - theta_t).max() < 1e-12
    assert np.abs(grad - grad_t).max() < 1e-10 * max(1.0, np.abs(grad_t).max())


def test_closed_form_matches_finite_differences():
    P, Q, w = random_problems(batch=4, seed=1)
    _, grad = toys.kabsch_angle_grad(P, Q, w)
    h = 1e-6
    for i in range(w.shape[1]):
        e = np.zeros_like(w)
        e[:, i] = h
        fd = (toys.kabsch_angle_grad(P, Q, w + e)[0] - toys.kabsch_angle_grad(P, Q, w - e)[0]) / (2 * h)
        assert np.abs(fd - grad[:, i]).max() < 1e-7


def test_rotations_equal_the_svd_answer_also_for_reflections_and_flag_rank_deficiency():
    g = np.random.default_rng(2)
    M = g.normal(size=(200, 3, 3))  # about half have det < 0: the SVD fallback with d = -1
    R, deficient = toys.kabsch_rotations(M)
    U, s, Vh = np.linalg.svd(M)
    d = np.sign(np.linalg.det(U @ Vh))
    R_svd = (U * np.stack([np.ones_like(d), np.ones_like(d), d], -1)[:, None, :]) @ Vh
    assert (np.linalg.det(M) < 0).sum() > 50
    assert np.abs(R - R_svd).max() < 1e-12 and not deficient.any()
    rank1 = np.einsum("bi,bj->bij", g.normal(size=(3, 3)), g.normal(size=(3, 3)))
    assert toys.kabsch_rotations(rank1)[1].all()
    with pytest.raises(ValueError, match="rank < 2"):
        toys.kabsch_angle_grad(np.eye(3), np.eye(3), [1.0, 0.0, 0.0])


@pytest.mark.parametrize("displacement,lr,steps", [(0.1, 0.1, 30), (0.4, 1.0, 60), (0.05, 3.0, 30), (0.5, 10 ** 1.5, 20)])
def test_fast_training_follows_train_weights_ift(displacement, lr, steps):
    ref = toys.train_weights(toys.rotation_toy(displacement)[0], "ift", lr=lr, steps=steps)
    fast = toys.train_rotation_ift(displacement, lr=lr, steps=steps)
    assert fast.stable == ref.stable and len(fast.loss) == len(ref.loss)
    assert np.abs(np.array(fast.loss) - np.array(ref.loss)).max() < 1e-9  # degrees
    assert np.abs(np.array(fast.weights) - np.array(ref.weights)).max() < 1e-12


def test_batch_runs_equal_single_runs_and_shorter_runs_are_prefixes():
    d, lr = [0.05, 0.2, 0.45], [0.01, 0.3, 5.0]
    runs = toys.train_rotation_ift_batch(d, lr, 40)
    for b in range(3):
        for steps in (1, 17, 40):
            single = toys.train_rotation_ift(d[b], lr=lr[b], steps=steps)
            got = runs.history(b, steps)
            assert np.allclose(got.loss, single.loss, rtol=0, atol=1e-9)
            assert np.allclose(got.weights, single.weights, rtol=0, atol=1e-12)


def test_bad_settings_are_refused_like_train_weights():
    with pytest.raises(ValueError, match="displacement"):
        toys.train_rotation_ift(0.0)
    with pytest.raises(ValueError, match="lr"):
        toys.train_rotation_ift(0.1, lr=-1.0)
    with pytest.raises(ValueError, match="steps"):
        toys.train_rotation_ift(0.1, steps=0)
