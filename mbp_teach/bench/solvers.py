"""Minimal solvers: problems per second at a given batch (default 1024, float64), forward and backward.

Each solver runs on one seeded batch of noise-free problems (``mbp_teach.data``), input
validation included, as a user calls it. The median of ``--repeats`` timed calls (after one
warm-up) is reported, with the best call in brackets: on a shared machine the best is the
better estimate of what the code can do, the median of what you will see. ``--threads`` runs
the whole table for each torch thread count given. Goal: five_point >= 10,000 problems/s.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

GOAL_FIVE_POINT = 10_000.0


def _cases(batch: int, points: int, dtype: torch.dtype) -> dict[str, tuple[Callable, tuple]]:
    from .. import data
    from .. import solvers as S

    cloud = data.point_cloud(points, batch, noise=0.01, seed=0, dtype=dtype)
    scene = data.two_view(points, batch, noise=0.5, seed=1, dtype=dtype)
    five = data.two_view(5, batch, seed=2, dtype=dtype)
    coeffs = torch.randn(batch, 11, generator=torch.Generator().manual_seed(3), dtype=dtype)
    return {
        "companion_roots (degree 10)": (S.companion_roots, (coeffs,)),
        f"kabsch ({points} points)": (S.kabsch, (cloud.P, cloud.Q)),
        f"rigid_transform ({points} points)": (S.rigid_transform, (cloud.P, cloud.Q)),
        f"eight_point ({points} points)": (S.eight_point, (scene.x1, scene.x2)),
        "five_point": (S.five_point, (five.x1, five.x2)),
    }


def _scalar(out) -> torch.Tensor:
    """A sign-invariant scalar of a solver's output (so its gradient is defined)."""
    if isinstance(out, tuple) and out[1].dtype == torch.bool:  # five_point: (E, valid)
        return ((out[0] ** 2).sum(dim=(-2, -1)) * out[1] + (out[0] ** 4).sum(dim=(-2, -1))).sum()
    parts = out if isinstance(out, tuple) else (out,)
    return sum((p.real if p.is_complex() else p).pow(2).sum() + (p.real if p.is_complex() else p).sum()
               for p in parts)


def time_call(fn: Callable, args: tuple, repeats: int, backward: bool) -> list[float]:
    """Seconds per call (forward, or forward + backward), after one untimed warm-up call."""
    if backward:
        args = tuple(a.detach().clone().requires_grad_() for a in args)

    def once():
        out = fn(*args)
        if backward:
            _scalar(out).backward()

    once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return times


def add_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=1024, help="problems per call")
    parser.add_argument("--points", type=int, default=100, help="correspondences for kabsch/eight_point")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per solver")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--threads", type=int, nargs="*", default=None,
                        help="torch thread counts to measure (default: torch's current setting)")
    parser.add_argument("--backward", action="store_true", help="also time forward + autograd backward")
    parser.add_argument("--only", default=None, help="measure the solvers whose name contains this text")


def run(args) -> int:
    dtype = getattr(torch, args.dtype)
    cases = _cases(args.batch, args.points, dtype)
    if args.only:
        cases = {k: v for k, v in cases.items() if args.only in k}
    threads = args.threads or [torch.get_num_threads()]
    previous = torch.get_num_threads()
    modes = [("forward", False)] + ([("fwd+bwd", True)] if args.backward else [])
    width = max(len(k) for k in cases)
    print(f"batch {args.batch}, {args.dtype}, median of {args.repeats} calls [best]; CPU may be shared")
    print(f"{'solver':<{width}}  threads  mode      problems/s (median)  [best]       ms/call")
    try:
        for th in threads:
            torch.set_num_threads(th)
            for name, (fn, fargs) in cases.items():
                for mode, bwd in modes:
                    t = time_call(fn, fargs, args.repeats, bwd)
                    med, best = statistics.median(t), min(t)
                    goal = ""
                    if name == "five_point" and mode == "forward":
                        goal = "  goal >= 10,000: " + ("met" if args.batch / med >= GOAL_FIVE_POINT else
                                                       ("met at best" if args.batch / best >= GOAL_FIVE_POINT
                                                        else "NOT met"))
                    print(f"{name:<{width}}  {th:>7}  {mode:<8}  {args.batch / med:>19,.0f}  "
                          f"[{args.batch / best:>10,.0f}]  {1e3 * med:>8.1f}{goal}")
    finally:
        torch.set_num_threads(previous)
    return 0
