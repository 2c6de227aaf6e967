"""Pose recovery, angular errors, AUC, and the Gumbel top-k sampler."""

import itertools
import math

import pytest
import torch

from mbp_teach import data
from mbp_teach.minbackprop import pose
from mbp_teach.minbackprop.sampling import draw_minimal_sets

D = torch.float64


def test_true_essential_matrix_gives_the_true_pose_by_cheirality():
    scene = data.two_view(50, (64,), seed=3)
    for sign in (1.0, -1.0):  # E's sign must not matter
        R, t = pose.pose_from_essential(sign * scene.E, scene.x1, scene.x2)
        assert float(pose.rotation_error_deg(R, scene.R).max()) < 1e-8
        cos = (t * scene.t).sum(-1)
        assert float((cos - 1).abs().max()) < 1e-10  # the sign of t too, not only its line


def test_four_candidates_are_the_factorisations_of_E():
    scene = data.two_view(10, (8,), seed=1)
    R, t = pose.decompose_essential(scene.E)
    E = data.skew(t) @ R
    En = E / torch.linalg.matrix_norm(E)[..., None, None]
    Et = (scene.E / torch.linalg.matrix_norm(scene.E)[..., None, None]).unsqueeze(-3)
    assert float(torch.minimum((En - Et).abs().amax((-1, -2)), (En + Et).abs().amax((-1, -2))).max()) < 1e-12
    assert float((torch.linalg.det(R) - 1).abs().max()) < 1e-12


def test_angular_errors():
    Rz = data.axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=D), torch.tensor(math.radians(30.0), dtype=D))
    assert float(pose.rotation_error_deg(Rz, torch.eye(3, dtype=D))) == pytest.approx(30.0)
    a, b = torch.tensor([1.0, 0.0, 0.0], dtype=D), torch.tensor([math.cos(0.3), math.sin(0.3), 0.0], dtype=D)
    assert float(pose.translation_error_deg(a, b)) == pytest.approx(math.degrees(0.3))
    assert float(pose.translation_error_deg(-a, b)) == pytest.approx(math.degrees(0.3))  # sign-free


def test_auc_of_known_errors():
    # recall is 1/2 on [1, 3) and 1 from 3: AUC@5 = (0.5 * 2 + 1 * 2) / 5
    assert pose.pose_auc([1.0, 3.0], [5.0])[0] == pytest.approx(0.6)
    assert pose.pose_auc([0.0, float("nan")], [10.0])[0] == pytest.approx(0.5)  # NaN counts as a failure
    assert pose.pose_auc([30.0], [5.0, 10.0]) == [0.0, 0.0]
    with pytest.raises(ValueError, match="at least one"):
        pose.pose_auc([], [5.0])


def test_gumbel_top_k_draws_follow_plackett_luce():
    logits = torch.tensor([[1.0, 0.0, -0.5, 0.7]], dtype=D)
    sets = draw_minimal_sets(logits, 20000, set_size=2, generator=torch.Generator().manual_seed(0))
    p = torch.softmax(logits[0], 0)
    for i, j in [(0, 1), (3, 2), (1, 0)]:
        expected = float(p[i] * p[j] / (1 - p[i]))
        seen = float(((sets.index[0, :, 0] == i) & (sets.index[0, :, 1] == j)).double().mean())
        assert seen == pytest.approx(expected, abs=4 * math.sqrt(expected / 20000))
    # the log-probabilities of all ordered pairs sum to one
    total = 0.0
    for i, j in itertools.permutations(range(4), 2):
        hit = (sets.index[0, :, 0] == i) & (sets.index[0, :, 1] == j)
        if hit.any():
            total += math.exp(float(sets.log_prob[0][hit][0]))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_selection_is_exact_forward_and_differentiable():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 12, generator=g, dtype=D, requires_grad=True)
    x = torch.randn(3, 12, 2, generator=g, dtype=D)
    sets = draw_minimal_sets(logits, 4, generator=g)
    picked = sets.gather(x)
    assert torch.equal(picked, torch.gather(x.unsqueeze(1).expand(-1, 4, -1, -1), 2,
                                            sets.index.unsqueeze(-1).expand(-1, -1, -1, 2)))
    assert len(set(sets.index[0, 0].tolist())) == 5  # without replacement
    (grad,) = torch.autograd.grad(picked.pow(2).sum() + sets.log_prob.sum(), logits)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_sampler_refuses_bad_input():
    with pytest.raises(ValueError, match="too few correspondences"):
        draw_minimal_sets(torch.zeros(2, 4, dtype=D), 3)
    with pytest.raises(ValueError, match="NaN"):
        draw_minimal_sets(torch.tensor([[0.0, float("nan"), 0, 0, 0, 0]], dtype=D), 3)
    with pytest.raises(ValueError, match="n_sets"):
        draw_minimal_sets(torch.zeros(1, 6, dtype=D), 0)
