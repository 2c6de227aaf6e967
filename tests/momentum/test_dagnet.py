"""DAGNet: any acyclic wiring of dense layers; cycles, shape mismatches and dangling nodes are refused."""

import numpy as np
import pytest
import torch

from mbp_teach.momentum.dag_plots import draw_dag
from mbp_teach.momentum.dagnet import DAGNet, chain_edges, dense_edges, skip_edges


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_chain_is_a_plain_mlp():
    net = DAGNet([3, 5, 2], chain_edges(3), activation="tanh", generator=gen())
    x = torch.randn(7, 3, dtype=torch.float64, generator=gen(1))
    w1, w2 = net.weights["0->1"].weight, net.weights["1->2"].weight
    b1, b2 = net.biases["1"], net.biases["2"]
    expected = torch.tanh(x @ w1.T + b1) @ w2.T + b2
    assert torch.allclose(net(x), expected)
    assert net.parameter_count() == 3 * 5 + 5 + 5 * 2 + 2


def test_skip_edges_add_weighted_inputs_and_identity_skips_add_values():
    net = DAGNet([2, 4, 4, 1], skip_edges(4), identity={1: [2]}, branch_scale=0.5, generator=gen())
    x = torch.randn(5, 2, dtype=torch.float64, generator=gen(2))
    W = {k: m.weight for k, m in net.weights.items()}
    b = net.biases
    h1 = torch.tanh(x @ W["0->1"].T + b["1"])
    h2 = 0.5 * torch.tanh(x @ W["0->2"].T + h1 @ W["1->2"].T + b["2"]) + h1
    out = h1 @ W["1->3"].T + h2 @ W["2->3"].T + b["3"]
    assert torch.allclose(net(x), out)


def test_adjacency_matrix_equals_adjacency_list():
    A = np.zeros((4, 4))
    for i, succ in dense_edges(4).items():
        A[i, succ] = 1
    a = DAGNet([2, 3, 3, 1], A, generator=gen())
    b = DAGNet([2, 3, 3, 1], dense_edges(4), generator=gen())
    assert a.dense == b.dense
    x = torch.randn(4, 2, dtype=torch.float64, generator=gen(3))
    assert torch.allclose(a(x), b(x))


@pytest.mark.parametrize(
    "sizes, edges, identity, match",
    [
        ([2, 3, 3, 1], {0: [1], 1: [2], 2: [1, 3]}, None, "cycle: 1 -> 2 -> 1"),
        ([2, 3, 4, 1], chain_edges(4), {1: [2]}, "widths must match"),
        ([2, 3, 1], np.ones((2, 2)), None, r"\(3, 3\)"),
        ([2, 3, 1], {0: [1, 5], 1: [2]}, None, "outside"),
        ([2, 3, 1], {0: [1], 1: [1, 2]}, None, "self-loop"),
        ([2, 3, 3, 1], {0: [1, 3], 1: [3]}, None, "node 2 has no incoming"),
        ([2, 3, 3, 1], {0: [1, 2], 1: [3]}, None, "do not lead to the output"),
        ([2, 0, 1], chain_edges(3), None, "positive integers"),
        ([2, 3, 1], {0: [1], 1: [2], 2: [0]}, None, "node 0 is the input|cycle"),
    ],
)
def test_bad_graphs_are_refused(sizes, edges, identity, match):
    with pytest.raises(ValueError, match=match):
        DAGNet(sizes, edges, identity=identity)


def test_input_shape_is_checked():
    net = DAGNet([3, 4, 1], chain_edges(3))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        net(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="NaN"):
        net(torch.full((5, 3), float("nan")))


def test_cut_depth_and_drawing():
    edges = chain_edges(5)
    edges[0].append(2)
    net = DAGNet([4, 3, 2, 3, 4], edges)
    assert net.is_cut(2) and not net.is_cut(1)
    assert net.depth() == [0, 1, 2, 3, 4]
    fig = draw_dag(net)
    assert len(fig.axes[0].lines) >= len(net.dense)


def test_gradients_reach_every_layer():
    net = DAGNet([2, 4, 4, 4, 1], dense_edges(5), generator=gen())
    net(torch.randn(8, 2, dtype=torch.float64, generator=gen(4))).sum().backward()
    for j in range(1, 5):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.node_parameters(j))
