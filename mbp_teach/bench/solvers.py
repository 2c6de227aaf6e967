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
from collections.abc import Callable

import torch

GOAL_FIVE_POINT = 10_000.0
GOAL_PEER_RATIO = 1.5
INSTALL_PEERS = "pip install -r requirements-bench.txt  (kornia==0.9.0, poselib==2.0.5)"


def _cases(batch: int, points: int, dtype: torch.dtype) -> dict[str, tuple[Callable, tuple]]:
    """label -> (solver, inputs): companion_roots, then every registered solver's benchmark inputs (its spec)."""
    from mbp_teach import solvers as S

    coeffs = torch.randn(batch, 11, generator=torch.Generator().manual_seed(3), dtype=dtype)
    cases: dict[str, tuple[Callable, tuple]] = {"companion_roots (degree 10)": (S.companion_roots, (coeffs,))}
    for spec in S.SPECS.values():
        cases[spec.label(points)] = (spec.solver, spec.bench(batch, points, dtype))
    return cases


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
    parser.add_argument("--peers", action="store_true",
                        help="five_point next to kornia's and poselib's 5-point solvers (when installed)")


def run(args) -> int:
    if args.peers:
        return run_peers(args)
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


# ---- peers: other 5-point solvers -------------------------------------------------------------------

def true_e_found(E: torch.Tensor, valid: torch.Tensor, E_true: torch.Tensor, tol: float) -> float:
    """Share of problems with a valid solution within ``tol`` of the true E (unit norm, up to sign).

    E (B, S, 3, 3), valid (B, S) bool, E_true (B, 3, 3)."""
    Et = (E_true / torch.linalg.matrix_norm(E_true)[..., None, None]).unsqueeze(-3)
    En = E / torch.linalg.matrix_norm(E).clamp_min(1e-300)[..., None, None]
    d = torch.minimum(torch.linalg.matrix_norm(En - Et), torch.linalg.matrix_norm(En + Et))
    d = torch.where(valid & torch.isfinite(d), d, torch.full_like(d, float("inf")))
    return float((d.min(-1).values <= tol).double().mean())


def _peer_loss(E: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """A sign-invariant scalar of the valid solutions (NaN slots of kornia's output masked out)."""
    E = torch.where(valid[..., None, None], E, torch.zeros_like(E))
    return ((E ** 2) * torch.arange(1.0, 10.0, dtype=E.dtype).reshape(3, 3)).sum() + (E ** 4).sum()


def peers() -> dict[str, Callable | str]:
    """name -> solver ``f(x1, x2) -> (E (B, S, 3, 3), valid (B, S))``, or a string saying why it is missing."""
    from mbp_teach.solvers import five_point

    out: dict[str, Callable | str] = {
        "mbp_teach five_point": lambda x1, x2: tuple(five_point(x1, x2)),
        "mbp_teach five_point (ift backward)": lambda x1, x2: tuple(five_point(x1, x2, backward="ift")),
    }
    try:
        import kornia
        from kornia.geometry.epipolar import find_essential

        def kornia_solver(x1, x2):
            E = find_essential(x1, x2)
            return E, torch.isfinite(E).all(-1).all(-1)

        out[f"kornia {kornia.__version__} find_essential"] = kornia_solver
    except ImportError:
        out["kornia find_essential"] = f"not installed: {INSTALL_PEERS}"
    try:
        import numpy as np
        import poselib

        def poselib_solver(x1, x2):
            h1, h2 = (np.concatenate([x.detach().numpy(), np.ones(x.shape[:-1] + (1,))], -1) for x in (x1, x2))
            E = np.zeros((x1.shape[0], 10, 3, 3))
            valid = np.zeros((x1.shape[0], 10), dtype=bool)
            for i in range(x1.shape[0]):  # one C++ call per problem
                sols = poselib.essential_matrix_5pt(h1[i], h2[i])
                for j, Ei in enumerate(sols[:10]):
                    E[i, j], valid[i, j] = Ei, True
            return torch.from_numpy(E), torch.from_numpy(valid)

        out[f"poselib {getattr(poselib, '__version__', '')} essential_matrix_5pt (per problem, C++)".replace("  ", " ")] = \
            poselib_solver
    except ImportError:
        out["poselib essential_matrix_5pt"] = f"not installed: {INSTALL_PEERS}"
    return out


def run_peers(args) -> int:
    """The peers table: forward problems/s, true-E recall, forward + backward ms, interleaved, CPU clock."""
    from mbp_teach import data

    dtype = getattr(torch, args.dtype)
    threads = (args.threads or [torch.get_num_threads()])[0]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        scene = data.two_view(5, args.batch, seed=2, dtype=dtype)
        solvers = peers()
        ready = {k: f for k, f in solvers.items() if callable(f)}
        fwd = {k: f for k, f in ready.items() if "ift backward" not in k}
        times: dict[str, list[float]] = {k: [] for k in fwd}
        recall = {}
        for k, f in fwd.items():  # warm-up, and the recall of the solutions
            E, valid = f(scene.x1, scene.x2)
            recall[k] = (true_e_found(E, valid, scene.E, 1e-6), true_e_found(E, valid, scene.E, 1e-4))
        for _ in range(args.repeats):  # interleaved: one call of each solver per round
            for k, f in fwd.items():
                start = time.process_time()
                f(scene.x1, scene.x2)
                times[k].append(time.process_time() - start)
        differentiable = {k: f for k, f in ready.items() if "poselib" not in k}
        back: dict[str, list[float]] = {k: [] for k in differentiable}
        leaves = [x.detach().clone().requires_grad_() for x in (scene.x1, scene.x2)]
        for f in differentiable.values():  # warm-up
            _peer_loss(*f(*leaves)).backward()
        grad_ok = {}
        for _ in range(max(3, args.repeats // 2)):
            for k, f in differentiable.items():
                for leaf in leaves:
                    leaf.grad = None
                start = time.process_time()
                _peer_loss(*f(*leaves)).backward()
                back[k].append(time.process_time() - start)
                grad_ok[k] = all(bool(torch.isfinite(leaf.grad).all()) for leaf in leaves)
    finally:
        torch.set_num_threads(previous)
    print(f"five_point peers: batch {args.batch}, {args.dtype}, {threads} torch thread(s), noise-free problems (seed 2); "
          f"CPU time of this process, median of {args.repeats} interleaved calls [best]")
    width = max(len(k) for k in solvers)
    print(f"{'solver':<{width}}  {'problems/s':>10}  {'[best]':>10}  {'true E <=1e-6':>13}  {'<=1e-4':>7}  "
          f"{'fwd+bwd ms':>10}  {'grad finite':>11}")
    for k, f in solvers.items():
        if not callable(f):
            print(f"{k:<{width}}  {f}")
            continue
        if k in times:
            med, best = statistics.median(times[k]), min(times[k])
            cols = (f"{args.batch / med:>10,.0f}  {args.batch / best:>10,.0f}  {100 * recall[k][0]:>12.2f}%  "
                    f"{100 * recall[k][1]:>6.2f}%")
        else:
            cols = f"{'(same forward)':>50}"
        bwd = (f"{1e3 * statistics.median(back[k]):>10.1f}  {'yes' if grad_ok[k] else 'NO':>11}" if k in back
               else f"{'-':>10}  {'-':>11}")
        print(f"{k:<{width}}  {cols}  {bwd}")
    ours = "mbp_teach five_point"
    kornia_key = next((k for k in times if k.startswith("kornia")), None)
    if kornia_key:
        ratio = statistics.median(times[kornia_key]) / statistics.median(times[ours])
        verdict = "met" if ratio >= GOAL_PEER_RATIO else "NOT met"
        print(f"five_point / kornia, problems/s: {ratio:.2f}x  (goal >= {GOAL_PEER_RATIO}x: {verdict})")
    return 0
