"""Seeded problems and sign-invariant losses on which the four gradients are compared.

``inputs(name, batch, seed, gap=None)`` gives the solver's inputs; with ``gap`` (a number or a
(B,) tensor in (0, 1]) the problems are near-degenerate, closer as the gap shrinks:

* kabsch / rigid_transform: a symmetric planar set (a square, or a rectangle with sides 1 and
  1 + gap) whose cross-covariance has singular values s1 = s2 (1 + gap) and s3 = 0 -- the
  rotation is perfectly determined, only the SVD's singular vectors are not;
* eight_point: a nearly planar scene (depth spread ``gap`` around 6): the 8-point system
  approaches rank 6 and F stops being determined;
* five_point: a nearly pure rotation (baseline ``gap``).

``loss(name)`` returns ``loss(backward, *inputs) -> scalar``: a fixed random linear functional of
R (and t), and the square of one of F or of every valid E, summed over the valid solutions, so
it depends neither on the arbitrary sign of F/E nor on the order of the 10 roots.
"""

from __future__ import annotations

import math

import torch

from mbp_teach import data
from mbp_teach import solvers as sv

SOLVERS = ("kabsch", "rigid_transform", "eight_point", "five_point")
N_POINTS = {"kabsch": 6, "rigid_transform": 6, "eight_point": 12, "five_point": 5}


def symmetric_planar(gap, batch: int = 1, seed=0, angle: float = 0.3, dtype=torch.float64):
    """(P, Q, w): 4 points +-(1 + gap) e1, +-e2 turned by a random rotation; Q = P turned by
    ``angle`` about the third axis. M = sum_i q_i p_i^T has singular values (2 (1 + gap)^2, 2, 0):
    relative gap about 2 gap, exactly repeated at gap = 0, where R is still unique."""
    g = data.generator(seed)
    gap = torch.as_tensor(gap, dtype=dtype).expand(batch) if not torch.is_tensor(gap) or gap.dim() == 0 else gap.to(dtype)
    one = torch.ones_like(gap)
    zero = torch.zeros_like(gap)
    a = one + gap
    P = torch.stack([torch.stack([a, zero, zero], -1), torch.stack([zero, one, zero], -1),
                     torch.stack([-a, zero, zero], -1), torch.stack([zero, -one, zero], -1)], -2)  # (B, 4, 3)
    R = data.random_rotation((batch,), seed=g, dtype=dtype)
    turn = data.axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=dtype), torch.tensor(angle, dtype=dtype))
    P = P @ R.transpose(-1, -2)
    Q = P @ turn.T
    return P, Q, torch.ones(batch, 4, dtype=dtype)


def inputs(name: str, batch: int = 1, seed=0, gap=None, dtype=torch.float64) -> tuple[torch.Tensor, ...]:
    """Inputs of solver ``name`` for ``batch`` random (or, with ``gap``, near-degenerate) problems."""
    if name not in SOLVERS:
        raise ValueError(f"name: unknown solver {name!r}; choose from {SOLVERS}")
    g = data.generator(seed)
    n = N_POINTS[name]
    if name in ("kabsch", "rigid_transform"):
        if gap is not None:
            P, Q, w = symmetric_planar(gap, batch, g, dtype=dtype)
            if name == "rigid_transform":
                shift = torch.randn(batch, 1, 3, generator=g, dtype=dtype)
                P, Q = P + shift, Q + shift.flip(-1)
            return P, Q, w
        reg = data.point_cloud(n, (batch,), noise=0.1, seed=g, dtype=dtype, translate=name == "rigid_transform")
        w = 0.5 + torch.rand(batch, n, generator=g, dtype=dtype)
        return reg.P, reg.Q, w
    if name == "eight_point":
        depth = (4.0, 8.0) if gap is None else (6.0, 6.0 + float(gap))
        tv = data.two_view(n, (batch,), noise=0.5, depth=depth, seed=g, dtype=dtype)
        w = 0.5 + torch.rand(batch, n, generator=g, dtype=dtype)
        return tv.x1, tv.x2, w
    baseline = 1.0 if gap is None else float(gap)
    tv = data.two_view(n, (batch,), noise=0.0, baseline=baseline, seed=g, dtype=dtype)
    return tv.x1, tv.x2


def log_gaps(batch: int, seed=0, low: float = 1e-12, high: float = 1e-3) -> torch.Tensor:
    """``batch`` gaps log-uniform in [low, high]."""
    g = data.generator(seed)
    u = torch.rand(batch, generator=g, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def _weights(shape, seed: int = 12345) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def per_problem_loss(name: str, **solver_options):
    """``f(backward, *inputs) -> (...,)``, one value per problem (see the module docstring).

    ``solver_options`` go to the solver (e.g. ``null_space="gram_svd"`` for five_point)."""
    G, g3 = _weights((3, 3)), _weights(3, 7)
    solver = {"kabsch": sv.kabsch, "rigid_transform": sv.rigid_transform, "eight_point": sv.eight_point,
              "five_point": sv.five_point}[name]

    def f(backward, *x):
        out = solver(*x, backward=backward, **solver_options)
        Gd = G.to(x[0].dtype)
        if name == "kabsch":
            return (out * Gd).sum((-1, -2))
        if name == "rigid_transform":
            R, t = out
            return (R * Gd).sum((-1, -2)) + (t * g3.to(t.dtype)).sum(-1)
        if name == "eight_point":
            return (out * Gd).sum((-1, -2)) ** 2
        E, valid = out
        return (((E * Gd).sum((-1, -2)) ** 2) * valid).sum(-1)

    return f


def loss(name: str):
    """``f(backward, *inputs) -> scalar``: the sum of ``per_problem_loss`` over the batch."""
    each = per_problem_loss(name)
    return lambda backward, *x: each(backward, *x).sum()


def reference(name: str, x: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The float64 Richardson reference gradient of ``loss(name)`` at ``x`` (one vectorized solver call per level)."""
    from mbp_teach.gradients.finite_diff import reference_gradient

    each = per_problem_loss(name)
    return reference_gradient(lambda *z: each("autograd", *z), x, vectorized=True)
