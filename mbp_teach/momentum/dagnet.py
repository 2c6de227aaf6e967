"""DAGNet: dense layers wired along any directed acyclic graph (chain, skip connections, all-to-all).

Node 0 is the input (width sizes[0]); node j > 0 computes

    h_j = s_j act_j( sum_{i -> j} W_ij h_i + b_j ) + sum_{i => j} h_i

where ``i -> j`` are the dense edges (each with its own weight matrix W_ij, sizes[j] x sizes[i]) and
``i => j`` the optional identity edges (ResNet-style skips, which need sizes[i] == sizes[j]);
s_j = ``branch_scale`` on nodes with an identity input (1 elsewhere): a deep residual net without
normalisation keeps its signal bounded only if each branch adds a small change.
The last node is the output (act = ``output_activation``, identity by default). This is the
setting of Agarwal, Klobusicky & Schonfeld (skip connections as extra dense edges of a DAG).

Graphs are given as an adjacency list ({i: [j, ...]} or [[j, ...], ...], successors of each node)
or an adjacency matrix (numpy array or tensor, A[i, j] != 0 for an edge i -> j).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from mbp_teach.validation import as_tensor, check_finite, check_positive

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "identity": lambda x: x,
}

Graph = Mapping[int, Iterable[int]] | Sequence[Iterable[int]] | np.ndarray | torch.Tensor


def edge_list(graph: Graph | None, n: int, name: str = "edges") -> list[tuple[int, int]]:
    """Normalise an adjacency list or matrix to sorted (i, j) pairs, checking indices and self-loops."""
    if graph is None:
        return []
    pairs: list[tuple[int, int]] = []
    if isinstance(graph, (np.ndarray, torch.Tensor)):
        a = np.asarray(graph.detach().cpu() if isinstance(graph, torch.Tensor) else graph)
        if a.shape != (n, n):
            raise ValueError(f"{name}: adjacency matrix must be ({n}, {n}) for {n} nodes, got {a.shape}")
        pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(a), strict=True)]
    else:
        items = graph.items() if isinstance(graph, Mapping) else enumerate(graph)
        for i, succ in items:
            for j in succ:
                pairs.append((int(i), int(j)))
    for i, j in pairs:
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"{name}: edge {i} -> {j} names a node outside 0..{n - 1}")
        if i == j:
            raise ValueError(f"{name}: self-loop at node {i} (a layer cannot feed itself)")
    return sorted(set(pairs))


def topological_order(n: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm; a cycle raises ValueError naming the nodes on it."""
    succ: dict[int, list[int]] = {i: [] for i in range(n)}
    indeg = [0] * n
    for i, j in pairs:
        succ[i].append(j)
        indeg[j] += 1
    ready = [i for i in range(n) if indeg[i] == 0]
    order = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    if len(order) < n:
        raise ValueError(f"graph has a cycle: {' -> '.join(map(str, _a_cycle(n, pairs)))} (a network must be acyclic)")
    return order


def _a_cycle(n: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    succ: dict[int, list[int]] = {i: [] for i in range(n)}
    for i, j in pairs:
        succ[i].append(j)
    colour = [0] * n  # 0 new, 1 on the stack, 2 done
    stack: list[int] = []

    def visit(i: int) -> list[int] | None:
        colour[i] = 1
        stack.append(i)
        for j in succ[i]:
            if colour[j] == 1:
                return stack[stack.index(j):] + [j]
            if colour[j] == 0 and (found := visit(j)):
                return found
        colour[i] = 2
        stack.pop()
        return None

    for s in range(n):
        if colour[s] == 0 and (found := visit(s)):
            return found
    return []  # pragma: no cover - only called when a cycle exists


def reachable(n: int, pairs: Sequence[tuple[int, int]], start: int, skip: int | None = None) -> set[int]:
    """Nodes reachable from ``start`` along the edges, never entering ``skip``."""
    succ: dict[int, list[int]] = {i: [] for i in range(n)}
    for i, j in pairs:
        succ[i].append(j)
    seen, todo = {start}, [start]
    while todo:
        for j in succ[todo.pop()]:
            if j not in seen and j != skip:
                seen.add(j)
                todo.append(j)
    return seen


def chain_edges(n: int) -> dict[int, list[int]]:
    """0 -> 1 -> ... -> n-1: the sequential network."""
    return {i: [i + 1] for i in range(n - 1)}


def skip_edges(n: int, span: int = 2) -> dict[int, list[int]]:
    """The chain plus i -> i + span for every i (skip connections of length ``span``)."""
    return {i: [i + 1] + ([i + span] if i + span < n else []) for i in range(n - 1)}


def dense_edges(n: int) -> dict[int, list[int]]:
    """Every i -> j with i < j: all-to-all (DenseNet-like) connectivity."""
    return {i: list(range(i + 1, n)) for i in range(n - 1)}


class DAGNet(nn.Module):
    """Dense layers on a DAG; ``forward(x)`` maps (..., sizes[0]) to (..., sizes[-1]).

    Weights W_ij ~ N(0, weight_std^2 / fan_in_j) with fan_in_j = sum of the widths feeding node j
    (so a node's pre-activation has the same scale whatever its in-degree); biases ~ N(0, bias_std^2).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        edges: Graph,
        identity: Graph | None = None,
        activation: str | Callable = "tanh",
        output_activation: str | Callable = "identity",
        weight_std: float = 1.0,
        bias_std: float = 0.1,
        branch_scale: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes: need an input and an output node, got {sizes}")
        for k, s in enumerate(sizes):
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1:
                raise ValueError(f"sizes: node {k} has width {s!r}; widths must be positive integers")
        n = len(sizes)
        dense = edge_list(edges, n, "edges")
        ident = edge_list(identity, n, "identity")
        self.order = topological_order(n, dense + ident)
        self._check_wiring(sizes, dense, ident)
        self.sizes, self.dense, self.ident = sizes, dense, ident
        self._dense_in = {j: [i for i, jj in dense if jj == j] for j in range(n)}
        self._ident_in = {j: [i for i, jj in ident if jj == j] for j in range(n)}
        check_positive(branch_scale, "branch_scale")
        self.branch_scale = float(branch_scale)
        self.act = self._activation(activation, "activation")
        self.out_act = self._activation(output_activation, "output_activation")
        self.weights = nn.ModuleDict()
        self.biases = nn.ParameterDict()
        fan_in = {j: sum(sizes[i] for i, jj in dense if jj == j) for j in range(1, n)}
        for i, j in dense:
            layer = nn.Linear(sizes[i], sizes[j], bias=False, dtype=dtype)
            with torch.no_grad():
                layer.weight.copy_(torch.randn(sizes[j], sizes[i], generator=generator, dtype=dtype)
                                   * (weight_std / math.sqrt(fan_in[j])))
            self.weights[f"{i}->{j}"] = layer
        for j in range(1, n):
            self.biases[str(j)] = nn.Parameter(torch.randn(sizes[j], generator=generator, dtype=dtype) * bias_std)

    @staticmethod
    def _activation(act, name: str) -> Callable:
        if callable(act):
            return act
        if act not in ACTIVATIONS:
            raise ValueError(f"{name}: expected one of {sorted(ACTIVATIONS)} or a callable, got {act!r}")
        return ACTIVATIONS[act]

    @staticmethod
    def _check_wiring(sizes, dense, ident) -> None:
        n = len(sizes)
        for i, j in dense + ident:
            if j == 0:
                raise ValueError(f"edge {i} -> 0: node 0 is the input and takes no edges")
        for j in range(1, n):
            if not any(jj == j for _, jj in dense):
                raise ValueError(f"node {j} has no incoming dense edge, so no layer computes it")
        for i, j in ident:
            if sizes[i] != sizes[j]:
                raise ValueError(f"identity edge {i} => {j} adds a width-{sizes[i]} vector to a width-{sizes[j]} "
                                 f"node: widths must match (use a dense edge instead)")
        both = dense + ident
        from_input = reachable(n, both, 0)
        if len(from_input) < n:
            raise ValueError(f"node(s) {sorted(set(range(n)) - from_input)} cannot be reached from the input")
        rev = [(j, i) for i, j in both]
        to_output = reachable(n, rev, n - 1)
        if len(to_output) < n:
            raise ValueError(f"node(s) {sorted(set(range(n)) - to_output)} do not lead to the output node {n - 1}")

    # -- computing ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, keep: bool = False):
        """Output (..., sizes[-1]); with ``keep=True`` also the list of every node's value h_j."""
        x = as_tensor(x, "x")
        if x.dim() < 1 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"x: expected shape (..., {self.sizes[0]}) for this network's input, got {tuple(x.shape)}")
        check_finite(x, "x")
        x = x.to(self.biases["1"].dtype)  # float32 data into a float64 network: cast, don't fail
        h: list[torch.Tensor | None] = [None] * len(self.sizes)
        h[0] = x
        last = len(self.sizes) - 1
        for j in self.order[1:]:  # node 0, the only node without incoming edges, comes first
            pre = self.biases[str(j)]
            for i in self._dense_in[j]:
                pre = pre + self.weights[f"{i}->{j}"](h[i])
            out = (self.out_act if j == last else self.act)(pre)
            if self._ident_in[j]:
                out = self.branch_scale * out
            for i in self._ident_in[j]:
                out = out + h[i]
            h[j] = out
        return (h[last], h) if keep else h[last]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def node_parameters(self, j: int) -> list[nn.Parameter]:
        """The parameters that compute node j: the weights of its incoming dense edges and its bias."""
        if not 1 <= j < len(self.sizes):
            raise ValueError(f"j: node {j} has no layer (nodes with layers are 1..{len(self.sizes) - 1})")
        return [self.weights[f"{i}->{jj}"].weight for i, jj in self.dense if jj == j] + [self.biases[str(j)]]

    def is_cut(self, node: int) -> bool:
        """True when every path from the input to the output passes through ``node`` (e.g. a bottleneck)."""
        n = len(self.sizes)
        if node in (0, n - 1):
            return True
        return (n - 1) not in reachable(n, self.dense + self.ident, 0, skip=node)

    def depth(self) -> list[int]:
        """Longest-path distance of every node from the input (the drawing's columns)."""
        d = [0] * len(self.sizes)
        for j in self.order:
            for i, jj in self.dense + self.ident:
                if jj == j:
                    d[j] = max(d[j], d[i] + 1)
        return d
