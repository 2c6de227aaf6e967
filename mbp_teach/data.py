"""Seeded synthetic problems for the solvers: rotations, point clouds, two-view scenes.

Every generator takes ``seed``: an int (a fresh ``torch.Generator`` seeded with it) or a
``torch.Generator`` (advanced in place, so successive calls differ). ``batch`` is a shape
(int or tuple) of independent problems; everything is generated batched, with no Python loop
over problems. Float64 by default (``dtype=``).

Conventions: a rigid motion maps p to R p + t. In a two-view scene camera 1 is [I | 0] and
camera 2 is [R | t], so a point X (camera-1 frame) is seen at x1 ~ X and x2 ~ R X + t; the
essential matrix E = [t]_x R (||t|| = 1, so ||E||_F = sqrt 2) satisfies x2h^T E x1h = 0 for
normalised coordinates, and F = K^-T E K^-1 (unit Frobenius norm) for pixels, with one
intrinsic matrix K for both cameras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mbp_teach import validation as val


def generator(seed: int | torch.Generator) -> torch.Generator:
    """A torch.Generator from an int seed, or the given generator itself."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed: expected an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def _shape(batch) -> tuple[int, ...]:
    shape = (batch,) if isinstance(batch, int) else tuple(batch)
    if any((not isinstance(b, int)) or b < 1 for b in shape):
        raise ValueError(f"batch: expected positive ints, got {batch!r}")
    return shape


def _count(n, name: str, low: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {n!r}")
    return n


def skew(v: torch.Tensor) -> torch.Tensor:
    """[v]_x (..., 3, 3) with [v]_x u = v x u."""
    z = torch.zeros_like(v[..., 0])
    x, y, w = v.unbind(-1)
    return torch.stack([torch.stack([z, -w, y], -1), torch.stack([w, z, -x], -1), torch.stack([-y, x, z], -1)], -2)


def axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues: rotation by ``angle`` (radians, (...,)) about ``axis`` ((..., 3), normalised here)."""
    axis = torch.as_tensor(axis)
    angle = torch.as_tensor(angle, dtype=axis.dtype)
    k = skew(axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True))
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype).expand(k.shape)
    return eye + s * k + (1 - c) * (k @ k)


def random_rotation(batch=(), *, seed: int | torch.Generator = 0, max_angle: float | None = None,
                    dtype=torch.float64) -> torch.Tensor:
    """Rotations (*batch, 3, 3): uniform on SO(3) (normalised Gaussian quaternions), or, with
    ``max_angle`` (radians), a uniform axis and an angle uniform in [0, max_angle]."""
    g, shape = generator(seed), _shape(batch)
    if max_angle is None:
        q = torch.randn(shape + (4,), generator=g, dtype=dtype)
        w, x, y, z = (q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)).unbind(-1)
        return torch.stack([
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)
    val.check_range(max_angle, "max_angle", 0.0, math.pi)
    axis = torch.randn(shape + (3,), generator=g, dtype=dtype)
    angle = max_angle * torch.rand(shape, generator=g, dtype=dtype)
    return axis_angle(axis, angle)


def rigid_motion(batch=(), *, seed: int | torch.Generator = 0, max_angle: float | None = None,
                 translation: float = 1.0, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """(R (*batch, 3, 3), t (*batch, 3)): R as in ``random_rotation``, t ~ N(0, translation^2 I)."""
    g, shape = generator(seed), _shape(batch)
    val.check_positive(translation, "translation", allow_zero=True)
    R = random_rotation(shape, seed=g, max_angle=max_angle, dtype=dtype)
    return R, translation * torch.randn(shape + (3,), generator=g, dtype=dtype)


def rotation_angle(R1: torch.Tensor, R2: torch.Tensor | None = None) -> torch.Tensor:
    """Angle (radians, (...,)) of R1 R2^T (of R1 alone when R2 is None), accurate near 0 and pi."""
    D = R1 if R2 is None else R1 @ R2.transpose(-1, -2)
    # atan2(|axis part|, trace part) keeps precision where acos(.) would lose half the digits
    s = 0.5 * torch.linalg.vector_norm(torch.stack([D[..., 2, 1] - D[..., 1, 2], D[..., 0, 2] - D[..., 2, 0],
                                                    D[..., 1, 0] - D[..., 0, 1]], -1), dim=-1)
    c = 0.5 * (D.diagonal(dim1=-2, dim2=-1).sum(-1) - 1)
    return torch.atan2(s, c)


def _outlier_counts(fraction, n: int, shape: tuple[int, ...], g, dtype) -> torch.Tensor:
    """Outliers per problem: round(f n), f fixed or uniform in the range (low, high)."""
    if isinstance(fraction, (tuple, list)):
        lo, hi = fraction
        val.check_range(lo, "outlier_fraction[0]", 0.0, 1.0)
        val.check_range(hi, "outlier_fraction[1]", lo, 1.0)
        f = lo + (hi - lo) * torch.rand(shape, generator=g, dtype=dtype)
    else:
        val.check_range(fraction, "outlier_fraction", 0.0, 1.0)
        f = torch.full(shape, float(fraction), dtype=dtype)
    return torch.round(f * n).long()


def _outlier_mask(counts: torch.Tensor, n: int, g) -> torch.Tensor:
    """Boolean (..., n): ``counts`` entries True per problem at random positions."""
    ranks = torch.argsort(torch.rand(counts.shape + (n,), generator=g), dim=-1).argsort(dim=-1)
    return ranks < counts.unsqueeze(-1)


@dataclass
class Registration:
    """Point sets with Q = R P + t + noise for inliers; outliers of Q are random points."""

    P: torch.Tensor  # (..., N, 3)
    Q: torch.Tensor  # (..., N, 3)
    R: torch.Tensor  # (..., 3, 3) true rotation
    t: torch.Tensor  # (..., 3) true translation
    inlier: torch.Tensor  # (..., N) bool


def point_cloud(n: int, batch=(), *, noise: float = 0.0, outlier_fraction=0.0, translate: bool = True,
                planarity: float = 1.0, seed: int | torch.Generator = 0, dtype=torch.float64) -> Registration:
    """A registration problem: P Gaussian (unit std; the third axis scaled by ``planarity``, so
    0.01 gives a nearly planar set), Q = R P + t + N(0, noise^2) with R uniform and t ~ N(0, I)
    (zero when ``translate`` is False); a fraction of Q replaced by Gaussian points of std 2."""
    g, shape, n = generator(seed), _shape(batch), _count(n, "n")
    val.check_positive(noise, "noise", allow_zero=True)
    val.check_positive(planarity, "planarity", allow_zero=True)
    R, t = rigid_motion(shape, seed=g, translation=float(translate), dtype=dtype)
    P = torch.randn(shape + (n, 3), generator=g, dtype=dtype) * torch.tensor([1.0, 1.0, planarity], dtype=dtype)
    Q = P @ R.transpose(-1, -2) + t.unsqueeze(-2) + noise * torch.randn(shape + (n, 3), generator=g, dtype=dtype)
    outlier = _outlier_mask(_outlier_counts(outlier_fraction, n, shape, g, dtype), n, g)
    junk = 2.0 * torch.randn(shape + (n, 3), generator=g, dtype=dtype)
    Q = torch.where(outlier.unsqueeze(-1), junk, Q)
    return Registration(P, Q, R, t, ~outlier)


@dataclass
class TwoView:
    """Correspondences between two calibrated views and the true geometry (batch dims first).

    x1, x2: normalised coordinates (..., N, 2) (K^-1 applied), noisy, with outliers;
    u1, u2: the same in pixels; inlier (..., N) bool; X (..., N, 3) the 3D points (camera-1 frame;
    meaningful for inliers); R (..., 3, 3), t (..., 3) with ||t|| = 1; E = [t]_x R; F (unit
    Frobenius norm); K (3, 3); image_size (width, height) in pixels.
    """

    x1: torch.Tensor
    x2: torch.Tensor
    u1: torch.Tensor
    u2: torch.Tensor
    inlier: torch.Tensor
    X: torch.Tensor
    R: torch.Tensor
    t: torch.Tensor
    E: torch.Tensor
    F: torch.Tensor
    K: torch.Tensor
    image_size: tuple[int, int]


def intrinsics(focal: float, image_size: tuple[int, int], dtype=torch.float64) -> torch.Tensor:
    """K = [[f, 0, w/2], [0, f, h/2], [0, 0, 1]]."""
    val.check_positive(focal, "focal")
    w, h = image_size
    return torch.tensor([[focal, 0.0, w / 2], [0.0, focal, h / 2], [0.0, 0.0, 1.0]], dtype=dtype)


def _look_at(centre: torch.Tensor, target: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """World-to-camera rotation of a camera at ``centre`` whose optical axis points at ``target``."""
    z = target - centre
    z = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=z.dtype).expand_as(z)
    x = torch.linalg.cross(up, z)
    x = x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z], dim=-2)  # rows: camera axes in world coordinates
    return axis_angle(torch.stack([torch.zeros_like(roll), torch.zeros_like(roll), torch.ones_like(roll)], -1),
                      roll) @ R


def two_view(n: int, batch=(), *, noise: float = 0.0, outlier_fraction=0.0, focal: float = 500.0,
             image_size: tuple[int, int] = (640, 480), depth: tuple[float, float] = (4.0, 8.0),
             baseline: float = 1.0, seed: int | torch.Generator = 0, dtype=torch.float64) -> TwoView:
    """Random 3D points in front of two calibrated cameras, seen in both images.

    Points: pixel uniform over image 1 and depth uniform in ``depth``, back-projected. Camera 2 sits
    at distance ``baseline`` from camera 1 in a random direction, looks at the middle of the
    scene, with a random roll of up to 10 degrees. ``noise`` is the std (pixels) of Gaussian noise
    on both images' pixel coordinates; outliers (``outlier_fraction``, a number or a (low, high)
    range drawn per pair) replace the point in image 2 by a uniform random pixel.
    """
    g, shape, n = generator(seed), _shape(batch), _count(n, "n")
    val.check_positive(noise, "noise", allow_zero=True)
    val.check_positive(baseline, "baseline")
    lo, hi = depth
    val.check_positive(lo, "depth[0]")
    val.check_range(hi, "depth[1]", lo, math.inf)
    K = intrinsics(focal, image_size, dtype)
    Kinv = torch.linalg.inv(K)
    size = torch.tensor(image_size, dtype=dtype)

    u1_clean = torch.rand(shape + (n, 2), generator=g, dtype=dtype) * size
    d = lo + (hi - lo) * torch.rand(shape + (n, 1), generator=g, dtype=dtype)
    ray = torch.cat([u1_clean, torch.ones_like(d)], -1) @ Kinv.T
    X = d * ray  # (..., n, 3), camera-1 frame

    c2 = torch.randn(shape + (3,), generator=g, dtype=dtype)
    c2 = baseline * c2 / torch.linalg.vector_norm(c2, dim=-1, keepdim=True)
    target = torch.tensor([0.0, 0.0, 0.5 * (lo + hi)], dtype=dtype).expand_as(c2)
    roll = math.radians(10.0) * (2 * torch.rand(shape, generator=g, dtype=dtype) - 1)
    R = _look_at(c2, target, roll)
    t = -(R @ c2.unsqueeze(-1)).squeeze(-1)  # ||t|| = baseline
    X2 = X @ R.transpose(-1, -2) + t.unsqueeze(-2)
    u2_clean = (X2 / X2[..., 2:]) @ K.T

    u1 = u1_clean + noise * torch.randn(shape + (n, 2), generator=g, dtype=dtype)
    u2 = u2_clean[..., :2] + noise * torch.randn(shape + (n, 2), generator=g, dtype=dtype)
    outlier = _outlier_mask(_outlier_counts(outlier_fraction, n, shape, g, dtype), n, g)
    junk = torch.rand(shape + (n, 2), generator=g, dtype=dtype) * size
    u2 = torch.where(outlier.unsqueeze(-1), junk, u2)

    def normalise(u):
        return torch.cat([u, torch.ones_like(u[..., :1])], -1) @ Kinv.T

    t_unit = t / baseline
    E = skew(t_unit) @ R
    F = Kinv.T @ E @ Kinv
    F = F / torch.linalg.matrix_norm(F)[..., None, None]
    width, height = image_size
    return TwoView(normalise(u1)[..., :2], normalise(u2)[..., :2], u1, u2, ~outlier, X, R, t_unit, E, F, K,
                   (width, height))
