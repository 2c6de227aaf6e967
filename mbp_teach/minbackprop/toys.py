"""The MinBackProp paper's two toys: learning per-point weights through a solver by SGD.

Rotation toy (Sungatullina & Pajdla 2024, toy 1): four points P, the true rotation is the
identity, but the point p_0 = (1, 0, 0) is observed at the outlier q_0 = (1 - d, d, 0)
(d = 0.1 in the paper). Weights w, used as relu(w)^2, start at 0.25; the loss is the angle of
the weighted Kabsch rotation R(w) (which is the error, the truth being I). Gradient descent on w
drives the outlier's weight to zero, because only that makes R(w) = I.

Fundamental-matrix toy (toy 2): 15 correspondences of a synthetic two-view scene in normalised
coordinates, the first one an outlier; the weighted 8-point F(w) is compared with the true
E = [t]_x R by loss = 1 - <F, E/|E|>^2 (zero exactly when F = +-E/|E|, whatever the sign).

Both are trained by ``train_weights`` with any backward of the solver; the history records, per
step, the loss, the effective weights and whether the gradient was finite.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch

from .. import data as mbp_data
from .. import validation as val
from ..backward import check_mode
from ..solvers import eight_point, kabsch
from .pose import rotation_angle


@dataclass
class WeightProblem:
    """A toy: ``loss(effective_weights, backward)`` and which entry is the outlier."""

    loss: Callable[[torch.Tensor, str], torch.Tensor]
    n: int
    outlier: int
    name: str
    unit: str  # unit of the loss as recorded in the history ("deg" or "1")
    scale: float = 1.0  # history value = scale * loss


@dataclass
class WeightHistory:
    """Per step k = 0..steps: loss (in ``unit``) and effective weights relu(w)^2 before step k."""

    backward: str
    loss: list[float] = field(default_factory=list)
    weights: list[list[float]] = field(default_factory=list)
    backward_seconds: list[float] = field(default_factory=list)
    failed_at: int | None = None  # first step with a non-finite loss or gradient
    failure: str = ""

    @property
    def stable(self) -> bool:
        return self.failed_at is None

    def outlier_ratio(self, outlier: int) -> float:
        """Final effective weight of the outlier divided by the smallest inlier's."""
        w = self.weights[-1]
        inliers = [x for i, x in enumerate(w) if i != outlier]
        return w[outlier] / min(inliers) if min(inliers) > 0 else math.inf


def effective(w: torch.Tensor) -> torch.Tensor:
    """The weight the solver sees: relu(w)^2 (non-negative, with gradient 2 w where w > 0)."""
    return torch.relu(w) ** 2


def rotation_toy(displacement: float = 0.1) -> tuple[WeightProblem, torch.Tensor, torch.Tensor]:
    """The rotation toy: (problem, P, Q); the outlier is point 0, moved by ``displacement``."""
    val.check_range(displacement, "displacement", 0.0, 1.0, closed="right")
    P = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    Q = P.clone()
    Q[0] = torch.tensor([1.0 - displacement, displacement, 0.0])

    def loss(weights: torch.Tensor, backward: str) -> torch.Tensor:
        return rotation_angle(kabsch(P, Q, weights, backward=backward))

    return WeightProblem(loss, 4, 0, "rotation", "deg", 180.0 / math.pi), P, Q


def fundamental_toy(n: int = 15, displacement: float = 0.1, seed: int = 0,
                    noise: float = 0.0) -> tuple[WeightProblem, mbp_data.TwoView]:
    """The fundamental-matrix toy: (problem, scene); correspondence 0 is an outlier.

    The outlier's point in image 2 is moved by ``displacement`` (normalised units, about
    ``displacement`` x 500 pixels) in a random direction; ``noise`` is in pixels.
    """
    if not isinstance(n, int) or n < 9:
        raise ValueError(f"n: the 8-point toy needs at least 9 correspondences (8 inliers + the outlier), got {n!r}")
    val.check_range(displacement, "displacement", 0.0, 1.0, closed="right")
    scene = mbp_data.two_view(n, noise=noise, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    direction = torch.randn(2, generator=g)
    scene.x2[0] = scene.x2[0] + displacement * direction / direction.norm()
    scene.inlier[0] = False
    E = scene.E / torch.linalg.matrix_norm(scene.E)
    x1, x2 = scene.x1, scene.x2

    def loss(weights: torch.Tensor, backward: str) -> torch.Tensor:
        F = eight_point(x1, x2, weights, backward=backward)
        return 1.0 - (F * E).sum() ** 2

    return WeightProblem(loss, n, 0, "fundamental", "1"), scene


def train_weights(problem: WeightProblem, backward: str = "ift", *, lr: float = 0.1, steps: int = 30,
                  w0: float = 0.25) -> WeightHistory:
    """Plain SGD on w with the gradient of ``problem.loss(relu(w)^2)`` taken by ``backward``.

    Stops at the first non-finite loss or gradient (the run is then unstable, ``failed_at`` set).
    A setting the solver refuses (e.g. every weight driven to zero by a too large lr) raises the
    solver's ValueError, naming the step.
    """
    check_mode(backward)
    val.check_positive(lr, "lr")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: need a positive integer, got {steps!r}")
    val.check_positive(w0, "w0")
    w = torch.full((problem.n,), float(w0), requires_grad=True)
    hist = WeightHistory(backward)
    for k in range(steps + 1):
        ew = effective(w)
        hist.weights.append(ew.detach().tolist())
        try:
            loss = problem.loss(ew, backward)
        except ValueError as exc:
            raise ValueError(f"step {k}: {exc} (try a smaller lr)") from None
        hist.loss.append(problem.scale * float(loss.detach()))
        if k == steps:
            break
        start = time.perf_counter()
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            (grad,) = torch.autograd.grad(loss, w)
        hist.backward_seconds.append(time.perf_counter() - start)
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            hist.failed_at = k
            hist.failure = "non-finite loss" if not torch.isfinite(loss) else "non-finite gradient"
            break
        with torch.no_grad():
            w -= lr * grad
    return hist
