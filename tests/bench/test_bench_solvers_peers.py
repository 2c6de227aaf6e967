"""bench solvers --peers: the recall measure and the peer table (no timing asserted)."""

import argparse

import torch

from mbp_teach import data
from mbp_teach.bench import solvers as bench


def test_true_e_found_counts_a_problem_when_a_valid_solution_matches_up_to_sign():
    scene = data.two_view(5, 4, seed=1)
    Et = scene.E / torch.linalg.matrix_norm(scene.E)[..., None, None]
    E = torch.zeros(4, 10, 3, 3, dtype=torch.float64)
    valid = torch.zeros(4, 10, dtype=torch.bool)
    E[0, 3], valid[0, 3] = -Et[0], True  # found (sign flipped)
    E[1, 0], valid[1, 0] = Et[1] + 1e-3, True  # too far at 1e-6, found at 1e-2
    E[2, 1] = Et[2]  # the right matrix, but not valid
    E[3, 2], valid[3, 2] = float("nan"), True  # a NaN slot (kornia's complex roots)
    assert bench.true_e_found(E, valid, scene.E, 1e-6) == 0.25
    assert bench.true_e_found(E, valid, scene.E, 1e-2) == 0.5


def test_peer_table_runs_and_says_how_to_install_missing_peers(capsys):
    args = argparse.Namespace(batch=8, repeats=1, dtype="float64", threads=[1], peers=True)
    assert bench.run_peers(args) == 0
    out = capsys.readouterr().out
    assert "mbp_teach five_point" in out and "true E" in out
    for name, solver in bench.peers().items():
        assert name in out
        if not callable(solver):
            assert "requirements-bench.txt" in solver


def test_gradients_peers_times_the_backward_alone_for_ours_and_every_installed_peer():
    from mbp_teach.bench import gradients
    from mbp_teach.bench.solvers import peers

    rows = gradients.peer_backward_rows([4], repeats=1)
    differentiable = {k for k, f in peers().items() if callable(f) and "poselib" not in k}
    assert rows[0]["batch"] == 4 and set(rows[0]) == {"batch"} | differentiable
    assert {"mbp_teach five_point", "mbp_teach five_point (ift backward)"} <= differentiable
    assert all(rows[0][k] > 0 for k in differentiable)
