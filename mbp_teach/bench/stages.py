"""Where five_point's time goes, stage by stage: its forward, its IFT backward, and autograd's backward.

``python -m mbp_teach.bench stages [--batch 1024] [--backward-batch 256] [--repeats 21] [--json]``

- ``forward_stages``: the stages of ``five_point`` as notebook 01 builds them (checks, degeneracy, null
  space, constraint matrix, elimination, action matrix, eigenvalues, back-substitution, composition,
  validity), each timed on the CPU clock, one round of every stage after another, medians of the rounds.
- ``ift_backward_stages``: the stages of ``backward="ift"`` (``essential_tangent``): gather the valid roots,
  their frames, the 5 x 5 systems, the LAPACK inverses, the rest of the solve, the outputs, the scatter
  back into the problems; "the rest" is the whole backward (as ``bench gradients`` times it) minus these:
  the autograd engine, the loss's own backward, the flag check.
- ``operation_counts``: how many tensor operations each backward runs (``compare.backward_ops``), and
  autograd's backward nodes with their share of its time (hooks on the graph's nodes); ``fixed_cost_us``: what one
  operation costs with no arithmetic; ``batch_scaling``: each backward's time fitted as a fixed part plus a
  part per problem, whose ratio is where autograd / IFT tends at large batches.

One torch thread (``--threads``): the numbers describe the code, not the thread pool.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import torch

from mbp_teach.gradients import compare as gc
from mbp_teach.gradients import essential_tangent as et
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import essential as es

FORWARD_STAGES = ("input checks", "degeneracy", "1 null space (QR)", "2 constraint matrix", "3 eliminate",
                  "4 action matrix", "5a eigenvalues (LAPACK)", "5b back-substitution", "6 compose E",
                  "validity check")
BACKWARD_STAGES = ("gather the roots", "frame U, V", "5 x 5 systems", "5 x 5 inverses (LAPACK)",
                   "rest of the solve", "outputs", "scatter into the problems")


def add_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=1024, help="problems in the forward's profile")
    parser.add_argument("--backward-batch", type=int, default=256, help="problems in the backwards' profiles")
    parser.add_argument("--repeats", type=int, default=21, help="rounds (medians)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--scaling-batches", default="16,64,256,1024",
                        help="comma-separated batches of the fixed + per-problem fit")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def _medians(stages: list[tuple[str, Callable[[], object]]], repeats: int) -> dict[str, float]:
    """{name: median CPU milliseconds} of each callable, one call of every stage per round (after a warm-up
    round), so that a change of load during the run hits every stage alike."""
    times: dict[str, list[float]] = {name: [] for name, _ in stages}
    for rnd in range(repeats + 1):
        for name, fn in stages:
            start = time.process_time()
            fn()
            if rnd:
                times[name].append(1e3 * (time.process_time() - start))
    return {name: statistics.median(v) for name, v in times.items()}


def forward_stages(batch: int = 1024, repeats: int = 21) -> dict[str, float]:
    """{stage: median CPU ms} of ``five_point`` on ``batch`` noise-free problems (those of ``bench solvers``), plus
    ``"five_point() total"`` (the call itself) and ``"kornia find_essential"`` when kornia is installed."""
    x1, x2 = es._bench(batch, 5, torch.float64)
    with torch.no_grad():
        basis = es.null_space_basis(x1, x2)
        C = es.constraint_matrix(basis)
        G, ok = es.eliminate(C)
        A = es.action_matrix(G)
        xyz, valid = es.roots_by_back_substitution(A, G, ok)
        E = es.compose_essential(basis, xyz, valid)
        stages = [
            ("input checks", lambda: es._validate(x1, x2)),
            ("degeneracy", lambda: es.degeneracy(x1, x2)),
            ("1 null space (QR)", lambda: es.null_space_basis(x1, x2)),
            ("2 constraint matrix", lambda: es.constraint_matrix(basis)),
            ("3 eliminate", lambda: es.eliminate(C)),
            ("4 action matrix", lambda: es.action_matrix(G)),
            ("5a eigenvalues (LAPACK)", lambda: torch.linalg.eigvals(A)),
            ("5 roots", lambda: es.roots_by_back_substitution(A, G, ok)),
            ("6 compose E", lambda: es.compose_essential(basis, xyz, valid)),
            ("validity check", lambda: es.essential_constraints(E).abs().amax(-1)),
            ("five_point() total", lambda: es.five_point(x1, x2)),
        ]
        peer = _kornia()
        if peer is not None:
            stages.append(("kornia find_essential", lambda: peer(x1, x2)))
        t = _medians(stages, repeats)
    # the roots stage is LAPACK's eigenvalues, then the back-substitution: reported apart
    t["5b back-substitution"] = t.pop("5 roots") - t["5a eigenvalues (LAPACK)"]
    order = [*FORWARD_STAGES, "five_point() total", *(["kornia find_essential"] if peer is not None else [])]
    return {k: t[k] for k in order}


def _kornia() -> Callable | None:
    try:
        from kornia.geometry.epipolar import find_essential
    except ImportError:
        return None
    ones = {}

    def call(x1, x2):
        w = ones.setdefault(x1.shape[:-1], torch.ones(x1.shape[:-1], dtype=x1.dtype))
        return find_essential(x1, x2, w)

    return call


def _roots_and_gradient(batch: int, seed: int):
    """E, valid of five_point on gp's problems, and G = dL/dE of the spec's loss (what the backward receives)."""
    x1, x2 = gp.inputs("five_point", batch, seed=seed)
    with torch.no_grad():
        E, valid = es._five_point_forward(x1, x2)
    E = E.clone().requires_grad_(True)
    gp.spec("five_point").loss((E, valid)).sum().backward()
    return E.detach(), E.grad, valid, x1, x2


def ift_backward_stages(batch: int = 256, repeats: int = 21, seed: int = 0) -> dict[str, float]:
    """{stage: median CPU ms} of five_point's IFT backward at ``batch``, ``"rest"`` (the whole backward minus
    the stages: autograd's engine, the loss's own backward, the flag check), ``"IFT backward total"`` and
    ``"autograd backward total"`` (both as ``bench gradients`` times them), and ``"roots"``, the count of
    valid roots (one 5 x 5 system each)."""
    from mbp_teach.bench import gradients as bg

    E, G, valid, x1, x2 = _roots_and_gradient(batch, seed)
    Ep, a, b, Gp, item = et.gather_roots(E, G, valid, x1, x2)
    U, V = et._frame_packed(Ep)
    Jt, g = et.tangent_system(U, V, a, b, Gp)
    lam, _ = et.tangent_solve(Jt, g)
    gx1, gx2 = et.tangent_outputs(Ep, a, b, lam)
    x = (x1, x2)  # the same problems for the whole backwards (bench.gradients copies them each call)
    whole: dict[str, list] = {"ift": [], "autograd": []}
    stages = [
        ("gather the roots", lambda: et.gather_roots(E, G, valid, x1, x2)),
        ("frame U, V", lambda: et._frame_packed(Ep)),
        ("5 x 5 systems", lambda: et.tangent_system(U, V, a, b, Gp)),
        ("5 x 5 inverses (LAPACK)", lambda: torch.linalg.inv_ex(Jt.permute(2, 0, 1))),
        ("solve", lambda: et.tangent_solve(Jt, g)),
        ("outputs", lambda: et.tangent_outputs(Ep, a, b, lam)),
        ("scatter into the problems", lambda: et.scatter_roots(gx1, gx2, item, batch)),
        ("IFT backward total", lambda: bg._gradients("five_point", "ift", x, "cpu", whole["ift"])),
        ("autograd backward total", lambda: bg._gradients("five_point", "autograd", x, "cpu", whole["autograd"])),
    ]
    t = _medians(stages, repeats)
    t["rest of the solve"] = t.pop("solve") - t["5 x 5 inverses (LAPACK)"]
    # the whole backwards: the backward part of each timed round (the forward is not part of the stages)
    for m in ("ift", "autograd"):
        t[f"{'IFT' if m == 'ift' else m} backward total"] = 1e3 * statistics.median(b for _, b in whole[m][-repeats:])
    out = {k: t[k] for k in BACKWARD_STAGES}
    out["rest"] = t["IFT backward total"] - sum(out.values())
    out["IFT backward total"] = t["IFT backward total"]
    out["autograd backward total"] = t["autograd backward total"]
    out["roots"] = float(item.numel())
    return out


def operation_counts(batch: int = 256, seed: int = 0, top: int = 6) -> dict[str, object]:
    """Tensor operations (ATen calls, ``compare.backward_ops``: the same on every CPU) run by each backward of
    five_point at ``batch``, and autograd's ``top`` backward nodes by their share of its time:
    {"ift": n, "autograd": n, "autograd nodes": n, "autograd top": [(node type, share), ...]}.

    A node's time is taken by hooks on the graph's nodes (``register_prehook`` / ``register_hook``): the span of
    its own backward, summed per node type (``MulBackward0`` and ``MulBackward1`` count as ``MulBackward``)."""
    x = gp.inputs("five_point", batch, seed=seed)
    out: dict[str, object] = {m: gc.backward_ops(gp.loss("five_point"), m, x) for m in ("ift", "autograd")}
    xs = tuple(t.detach().clone().requires_grad_(True) for t in x)
    value = gp.loss("five_point")("autograd", *xs)
    nodes: dict[int, object] = {}
    start: dict[int, float] = {}
    took: dict[int, float] = {}
    stack = [value.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in nodes:
            continue
        key = id(node)
        nodes[key] = node
        node.register_prehook(lambda _, k=key: start.__setitem__(k, time.perf_counter()))
        node.register_hook(lambda _i, _o, k=key: took.__setitem__(k, time.perf_counter() - start[k]))
        stack.extend(f for f, _ in node.next_functions)
    value.backward()
    share: dict[str, float] = {}
    for k, node in nodes.items():
        name = type(node).__name__.rstrip("0123456789")
        share[name] = share.get(name, 0.0) + took.get(k, 0.0)
    total = sum(share.values())
    out["autograd nodes"] = len(nodes)
    out["autograd top"] = sorted(((k, v / total) for k, v in share.items()), key=lambda kv: -kv[1])[:top]
    return out


def batch_scaling(batches: tuple[int, ...] = (16, 64, 256, 1024), repeats: int = 7) -> dict[str, dict]:
    """Backward time against batch size, fitted as fixed + per_problem * batch (least squares), for autograd and
    the IFT: {method: {"fixed ms": a, "per problem us": b, "ms": {batch: median ms}}}. The two methods are timed
    interleaved on the same problems (``bench.gradients.compare_five_point``), CPU clock.

    The fixed part is what a call costs whatever the batch (its tensor operations' dispatch, the engine); the
    per-problem part is the arithmetic. Their ratio is where autograd / IFT tends as the batch grows."""
    from mbp_teach.bench import gradients as bg

    rows = {b: bg.compare_five_point(b, repeats) for b in batches}
    X = torch.tensor([[1.0, float(b)] for b in batches], dtype=torch.float64)
    out = {}
    for m in ("autograd", "ift"):
        ms = {b: 1e3 * rows[b][m]["backward"] for b in batches}
        y = torch.tensor([ms[b] for b in batches], dtype=torch.float64).unsqueeze(-1)
        a, b = torch.linalg.lstsq(X, y).solution.squeeze(-1).tolist()
        out[m] = {"fixed ms": a, "per problem us": 1e3 * b, "ms": ms}
    return out


def fixed_cost_us(calls: int = 2000) -> float:
    """Microseconds of CPU per tensor operation when there is no arithmetic to speak of: the median over 5 runs
    of ``calls`` products of two 1-element tensors. Dispatch, the result's allocation, the Python call."""
    a = torch.ones(1, dtype=torch.float64)
    runs = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(calls):
            torch.mul(a, a)
        runs.append(1e6 * (time.process_time() - start) / calls)
    return statistics.median(runs)


def run(args) -> int:
    torch.set_num_threads(args.threads)
    fwd = forward_stages(args.batch, args.repeats)
    bwd = ift_backward_stages(args.backward_batch, args.repeats)
    ops = operation_counts(args.backward_batch)
    scale = batch_scaling(tuple(int(b) for b in args.scaling_batches.split(",")), max(3, args.repeats // 3))
    if args.json:
        print(json.dumps({"forward": fwd, "ift backward": bwd, "operations": ops, "scaling": scale}, indent=1))
        return 0
    head = f"{args.threads} thread(s), float64, CPU clock, medians of {args.repeats} rounds"
    print(f"five_point forward at batch {args.batch} ({head}), ms")
    for k, v in fwd.items():
        print(f"  {k:28s} {v:8.2f}")
    print(f"  {'sum of the stages':28s} {sum(fwd[k] for k in FORWARD_STAGES):8.2f}")
    print(f"\nfive_point backward at batch {args.backward_batch} ({int(bwd['roots'])} valid roots), ms")
    for k, v in bwd.items():
        if k != "roots":
            print(f"  {k:28s} {v:8.2f}")
    print(f"  autograd / IFT: {bwd['autograd backward total'] / bwd['IFT backward total']:.1f}x")
    print(f"\none tensor operation without arithmetic: {fixed_cost_us():.1f} us")
    print(f"tensor operations per backward: IFT {ops['ift']}, autograd {ops['autograd']} "
          f"({ops['autograd nodes']} autograd nodes); autograd's largest nodes by time:")
    for name, share in ops["autograd top"]:
        print(f"  {name:36s} {100 * share:5.1f} %")
    print("\nbackward time = fixed + per problem x batch (least squares over batches "
          f"{', '.join(str(b) for b in scale['ift']['ms'])}):")
    for m, r in scale.items():
        print(f"  {m:9s} fixed {r['fixed ms']:6.2f} ms, per problem {r['per problem us']:6.1f} us")
    print(f"  per-problem ratio autograd / IFT: {scale['autograd']['per problem us'] / scale['ift']['per problem us']:.1f}x")
    return 0
