"""Backward time of autograd / IFT / DDN per solver and batch size, and failure shares.

``python -m mbp_teach.bench gradients [--json] [--batches 1,4,...] [--problems 1000] [--threads 1] [--clock cpu]``
``python -m mbp_teach.bench gradients --five-point 256,4096 --clock cpu --repeats 9``: only five_point's
IFT against autograd, backward alone and forward + backward, the two interleaved (``compare_five_point``).

Timing: for each solver, method and batch size, the median over ``--repeats`` runs of
``loss.backward()`` alone (the forward, identical for every method, is not timed; the IFT and
DDN forwards also prepare a little: the five-point SVD frame, the 8-point eigenvectors).
Failures: over ``--problems`` random problems and as many near-degenerate ones (each solver's
``SolverSpec.inputs`` with gaps over its ``gap_decades``: repeated singular values for the rotations,
nearly planar scenes for F, nearly pure rotations for E), the share of problems whose gradient has a non-finite entry,
the share the IFT/DDN backward flagged (zero gradient + warning; for five_point, a share of
the valid solutions), and the share whose gradient
differs from IFT's by more than 1e-6 relative (and the share whose gradient is exactly zero).
Timings on a shared CPU vary; say so when quoting. ``--clock cpu`` measures this process's CPU
time instead of wall time: with one thread it hardly changes when other jobs load the machine.

A solver's spec may declare further autograd baselines (``SolverSpec.baselines``: label -> solver
options); five_point declares the paper-style ones: autograd with the null space taken from an SVD
instead of the QR + projector (``essential.null_space_basis``), "autograd (svd null space)", the 5x9
epipolar matrix with full_matrices=True, and "autograd (gram svd null space)", the 9x9 Gram matrix
A^T A as in nabla-RANSAC / kornia.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings

import torch

from mbp_teach.gradients import implicit
from mbp_teach.gradients import problems as gp
from mbp_teach.gradients.plots import backward_time_figure

METHODS = ("autograd", "ift", "ddn")
FIGURE = "02_backward_time"
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def methods(name: str) -> tuple[str, ...]:
    """The methods benchmarked for solver ``name``: METHODS, then the baselines its spec declares."""
    return METHODS + tuple(gp.spec(name).baselines)


def _backward(name: str, method: str) -> tuple[str, dict]:
    """(backward mode, extra solver options) of a method label of solver ``name``."""
    baselines = gp.spec(name).baselines
    if method in baselines:
        return "autograd", dict(baselines[method])
    return method, {}


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--batches", default="1,4,16,64,256,1024,4096", help="comma-separated batch sizes")
    parser.add_argument("--problems", type=int, default=1000, help="problems in each failure set")
    parser.add_argument("--repeats", type=int, default=3, help="timed backward passes per point (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on a shared CPU)")
    parser.add_argument("--solvers", default=",".join(gp.SOLVERS), help="comma-separated solver names")
    parser.add_argument("--max-ddn-batch", type=int, default=4096, help="skip DDN above this batch size")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier when other jobs share the CPU)")
    parser.add_argument("--no-plot", action="store_true", help="do not write figures/02_backward_time.png")
    parser.add_argument("--peers", action="store_true",
                        help="five_point's backward alone next to installed peers (kornia); installs nothing; "
                             "batches from --five-point (default 256,4096)")
    parser.add_argument("--five-point", default=None, metavar="BATCHES",
                        help="only the five_point IFT-vs-autograd rows at these batch sizes (e.g. 256,4096): backward "
                             "alone and forward + backward, interleaved, medians of --repeats; no failure shares")


def _gradients(name: str, method: str, x: tuple[torch.Tensor, ...], clock: str = "wall", times: list | None = None):
    """(per-problem flat gradient (B, m), backward seconds, flags of the IFT/DDN backward); appends
    (forward seconds, backward seconds) to ``times`` if given."""
    xs = tuple(t.detach().clone().requires_grad_(True) for t in x)
    backward, options = _backward(name, method)
    each = gp.per_problem_loss(name, **options)
    now = CLOCKS[clock]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", implicit.SingularJacobianWarning)
        start = now()
        with implicit.policy("warn") as log:
            value = each(backward, *xs).sum()
        middle = now()
        value.backward()
        seconds = now() - middle
    if times is not None:
        times.append((middle - start, seconds))
    B = x[0].shape[0]
    g = torch.cat([(t.grad if t.grad is not None else torch.zeros_like(t)).reshape(B, -1) for t in xs], 1)
    return g, seconds, log.flags()  # flags: per problem; for five_point per valid solution


def time_backward(name: str, method: str, batch: int, repeats: int, seed: int = 0, clock: str = "wall") -> float:
    x = gp.inputs(name, batch, seed=seed)
    _gradients(name, method, x)  # warm-up (first calls of torch.func build their machinery)
    return statistics.median(_gradients(name, method, x, clock)[1] for _ in range(repeats))


def compare_five_point(batch: int, repeats: int, methods_: tuple[str, ...] = ("autograd", "ift"), seed: int = 0,
                       clock: str = "cpu") -> dict[str, dict[str, float]]:
    """{method: {forward, backward, total}} median seconds of five_point at ``batch``, the methods interleaved
    (one call of each per round, so a change of load hits them alike); same problems, same forward."""
    x = gp.inputs("five_point", batch, seed=seed)
    runs: dict[str, list] = {m: [] for m in methods_}
    for m in methods_:
        _gradients("five_point", m, x)  # warm-up
    for _ in range(repeats):
        for m in methods_:
            _gradients("five_point", m, x, clock, runs[m])
    med = lambda v: statistics.median(v)  # noqa: E731
    return {m: {"forward": med([f for f, _ in r]), "backward": med([b for _, b in r]),
                "total": med([f + b for f, b in r])} for m, r in runs.items()}


def failure_shares(name: str, problems: int, seed: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """{set: {method: {nonfinite, zero, flagged, differs_from_ift}}} for random and near-degenerate sets.

    The near-degenerate set spans the spec's ``gap_decades``: one gap per problem, log-uniform, if the
    spec takes a tensor of gaps, else an equal share of the problems at each power of ten."""
    spec = gp.spec(name)
    sets = {"random": gp.inputs(name, problems, seed=seed)}
    low, high = spec.gap_decades
    if spec.gap_per_problem:
        sets["near-degenerate"] = gp.inputs(name, problems, seed=seed,
                                            gap=gp.log_gaps(problems, seed, 10.0 ** low, 10.0 ** high))
    else:
        decades = high - low + 1
        chunks = [gp.inputs(name, problems // decades, seed=seed + k, gap=10.0 ** (low + k)) for k in range(decades)]
        sets["near-degenerate"] = tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))
    return {label: shares_on(name, x) for label, x in sets.items()}


def shares_on(name: str, x: tuple[torch.Tensor, ...], off: float = 1e-6) -> dict[str, dict[str, float]]:
    """{method: {nonfinite, zero, flagged, differs_from_ift}} over the problems ``x`` of solver ``name``:
    shares of problems whose gradient has a non-finite entry, is exactly zero, was flagged by the
    IFT/DDN backward, or differs from the IFT gradient by more than ``off`` relative."""
    grads, rows = {}, {}
    for method in methods(name):
        g, _, flags = _gradients(name, method, x)
        grads[method] = g
        rows[method] = {"nonfinite": float((~torch.isfinite(g)).any(1).double().mean()),
                        "zero": float((g == 0).all(1).double().mean()),
                        "flagged": float(flags.double().mean()) if method in ("ift", "ddn") and flags.numel() else 0.0}
    ref = grads["ift"]
    for method in methods(name):
        diff = (grads[method] - ref).norm(dim=1) / ref.norm(dim=1).clamp_min(1e-300)
        rows[method]["differs_from_ift"] = float((~(diff <= off)).double().mean())
    return rows


def five_point_rows(batches: list[int], repeats: int, clock: str) -> list[dict]:
    """One row per batch: backward alone and forward + backward of autograd and IFT, and their ratios."""
    rows = []
    for b in batches:
        t = compare_five_point(b, repeats, clock=clock)
        rows.append({"batch": b, **{f"{m} {k}": v for m, r in t.items() for k, v in r.items()},
                     "backward autograd/ift": t["autograd"]["backward"] / t["ift"]["backward"],
                     "fwd+bwd autograd/ift": t["autograd"]["total"] / t["ift"]["total"]})
    return rows


def peer_backward_rows(batches: list[int], repeats: int) -> list[dict]:
    """Backward alone (CPU ms, median of ``repeats`` interleaved rounds) of a sign-invariant loss of the valid
    solutions, through our five_point (autograd, IFT) and through every installed peer that is differentiable
    (kornia's ``find_essential``: autograd through its solver). Same noise-free problems for all; the forward
    is run untimed before each timed backward. Installs nothing (``mbp_teach.bench.solvers.peers``)."""
    from mbp_teach import data
    from mbp_teach.bench.solvers import _peer_loss, peers

    solvers = {k: f for k, f in peers().items() if callable(f) and "poselib" not in k}
    rows = []
    for b in batches:
        scene = data.two_view(5, b, seed=2, dtype=torch.float64)
        leaves = [x.detach().clone().requires_grad_() for x in (scene.x1, scene.x2)]
        times: dict[str, list[float]] = {k: [] for k in solvers}
        for f in solvers.values():  # warm-up
            _peer_loss(*f(*leaves)).backward()
        for _ in range(repeats):
            for k, f in solvers.items():
                for leaf in leaves:
                    leaf.grad = None
                loss = _peer_loss(*f(*leaves))
                start = time.process_time()
                loss.backward()
                times[k].append(time.process_time() - start)
        rows.append({"batch": b, **{k: statistics.median(v) for k, v in times.items()}})
    return rows


def run_peers(args) -> int:
    from mbp_teach.bench.solvers import peers

    batches = [int(b) for b in (args.five_point or "256,4096").split(",") if b]
    rows = peer_backward_rows(batches, args.repeats)
    missing = [f"{k} ({why})" for k, why in peers().items() if not callable(why)]
    print(f"five_point backward alone next to peers: float64, {args.threads} thread(s), CPU clock, median of "
          f"{args.repeats} interleaved rounds (ms)" + (f"; missing: {', '.join(missing)}" if missing else ""))
    names = [k for k in rows[0] if k != "batch"]
    for r in rows:
        ift = r["mbp_teach five_point (ift backward)"]
        print(f"batch {r['batch']:>5}: " + ", ".join(f"{k} {1e3 * r[k]:.2f} ({r[k] / ift:.1f}x the IFT)" for k in names))
    return 0


def run(args) -> int:
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    if args.peers:
        return run_peers(args)
    if args.five_point:
        rows = five_point_rows([int(b) for b in args.five_point.split(",") if b], args.repeats, args.clock)
        if args.json:
            print(json.dumps({"threads": args.threads, "torch": torch.__version__, "clock": args.clock,
                              "five_point": rows}, indent=1))
            return 0
        print(f"five_point, float64, {args.threads} thread(s), {args.clock} clock, median of {args.repeats} "
              "interleaved runs (ms)")
        print(f"{'batch':>6} {'bwd autograd':>13} {'bwd ift':>9} {'ratio':>7} {'fwd+bwd autograd':>17} "
              f"{'fwd+bwd ift':>12} {'ratio':>7}")
        for r in rows:
            print(f"{r['batch']:>6} {1e3 * r['autograd backward']:>13.2f} {1e3 * r['ift backward']:>9.2f} "
                  f"{r['backward autograd/ift']:>6.1f}x {1e3 * r['autograd total']:>17.2f} "
                  f"{1e3 * r['ift total']:>12.2f} {r['fwd+bwd autograd/ift']:>6.1f}x")
        return 0
    batches = [int(b) for b in args.batches.split(",") if b]
    solvers = [s for s in args.solvers.split(",") if s]
    times: dict[str, dict[str, dict[int, float]]] = {}
    for name in solvers:
        times[name] = {}
        for method in methods(name):
            times[name][method] = {}
            for b in batches:
                if method == "ddn" and b > args.max_ddn_batch:
                    continue
                times[name][method][b] = time_backward(name, method, b, args.repeats, clock=args.clock)
                if not args.json:
                    print(f"{name:<16} {method:<30} batch {b:>5}: {1e3 * times[name][method][b]:10.2f} ms", flush=True)
    shares = {name: failure_shares(name, args.problems) for name in solvers} if args.problems > 0 else {}
    if not args.no_plot:
        backward_time_figure(times, path_name=FIGURE, clock=args.clock,
                             legends=[name for name in solvers if len(methods(name)) > len(METHODS)])
    result = {"threads": args.threads, "torch": torch.__version__, "clock": args.clock, "backward_seconds": times,
              "failures": shares}
    if "five_point" in times:
        ft = times["five_point"]
        result["five_point_speedup"] = {
            str(b): {"autograd/ift": ft["autograd"][b] / ft["ift"][b],
                     **{f"{m}/ift": ft[m][b] / ft["ift"][b] for m in methods("five_point")[len(METHODS):]},
                     **({"ddn/ift": ft["ddn"][b] / ft["ift"][b]} if b in ft["ddn"] else {})}
            for b in batches if b in ft["ift"]}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for name, sets in shares.items():
        for label, rows in sets.items():
            for method, r in rows.items():
                print(f"{name:<16} {label:<16} {method:<30} non-finite {100 * r['nonfinite']:5.1f} %  "
                      f"zero {100 * r['zero']:5.1f} %  flagged {100 * r['flagged']:5.1f} %  "
                      f"differs from IFT {100 * r['differs_from_ift']:5.1f} %")
    for b, r in result.get("five_point_speedup", {}).items():
        print(f"five_point batch {b:>5}: " + ", ".join(f"{k} = {v:.2f}x" for k, v in r.items()))
    return 0
