"""A real rectified stereo pair with ground truth: scikit-image's motorcycle (Middlebury 2014).

``skimage.data.stereo_motorcycle()`` ships in the scikit-image wheel (nothing is downloaded): the
left and right photographs (500 x 741 x 3, uint8), down-sampled 4x from the Middlebury 2014 stereo
benchmark (Scharstein et al., GCPR 2014), and the ground-truth disparity of each left pixel
(non-finite where unknown). Its documented calibration for these images: focal length
f = 994.978 px in both cameras, principal point (311.193, 254.877) px in the left image, and the
right camera's principal point x larger by dx = 31.086 px; baseline 193.001 mm.

Rectified means: both cameras look the same way (R = I) and the right one sits on the left one's
x axis, so a scene point seen in row v of the left image is seen in the same row of the right
one. The disparity d(u, v) gives the column: the match of left pixel (u, v) is right pixel
(u - d, v) (Middlebury's convention, checked on the matches in the tests; the docstring of
``stereo_motorcycle`` writes its example the other way round). In camera-1 coordinates the right
camera centre is at (B, 0, 0), so x2 = R x1 + t with R = I and t = (-B, 0, 0): the true essential
matrix is E = [t]_x R = [t]_x, known up to scale and sign.

Pixels u = (column, row) become normalised coordinates x = K^-1 (u, 1) with each camera's own
intrinsics K = [[f, 0, c_u], [0, f, c_v], [0, 0, 1]].

Features: ORB (Rublee et al., ICCV 2011) in scikit-image, with fixed parameters (it is
deterministic), matched by Hamming distance with a mutual-nearest-neighbour (cross) check and no
ratio test, so that the repeated texture of the scene leaves gross outliers in the matches.
``matches()`` caches the detection within a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from mbp_teach import validation as val
from mbp_teach.data import skew

FOCAL = 994.978  # px, both cameras (the down-sampled images' calibration)
PRINCIPAL_LEFT = (311.193, 254.877)  # (c_u, c_v) px in the left image
DX = 31.086  # px: the right camera's c_u is larger by this much
BASELINE_MM = 193.001
LABEL_THRESHOLD_PX = 3.0  # a match agrees with the disparity when both pixel differences are within this
N_KEYPOINTS = 500  # ORB keypoints per image
FAST_THRESHOLD = 0.08  # ORB's FAST corner threshold (intensities in [0, 1])

INLIER, OUTLIER, UNKNOWN = 1, 0, -1  # match labels


@dataclass(frozen=True)
class StereoImages:
    """left, right: (H, W, 3) uint8 photographs; disparity: (H, W) float32, non-finite where unknown."""

    left: np.ndarray
    right: np.ndarray
    disparity: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return self.disparity.shape[0], self.disparity.shape[1]


@lru_cache(maxsize=1)
def load() -> StereoImages:
    """The motorcycle pair as shipped with scikit-image (arrays read-only: the result is cached)."""
    from skimage import data  # imported here: scikit-image is needed by this module only

    left, right, disparity = data.stereo_motorcycle()
    arrays = [np.ascontiguousarray(a) for a in (left, right, disparity)]
    for a in arrays:
        a.flags.writeable = False
    return StereoImages(*arrays)


def intrinsics(dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """(K_left, K_right), each (3, 3): K = [[f, 0, c_u], [0, f, c_v], [0, 0, 1]], c_u larger by DX on the right."""
    cu, cv = PRINCIPAL_LEFT

    def K(c_u: float) -> torch.Tensor:
        return torch.tensor([[FOCAL, 0.0, c_u], [0.0, FOCAL, cv], [0.0, 0.0, 1.0]], dtype=dtype)

    return K(cu), K(cu + DX)


def normalise(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Normalised coordinates x = ((u - c_u) / f, (v - c_v) / f), (..., N, 2), of pixels u (..., N, 2)."""
    u = val.as_tensor(u, "u")
    val.check_shape(u, "u", (None, 2))
    val.check_finite(u, "u")
    K = val.as_tensor(K, "K").to(u.dtype)
    val.check_shape(K, "K", (3, 3))
    if K.dim() != 2 or float(K[0, 0]) <= 0 or float(K[1, 1]) <= 0:
        raise ValueError("K: expected one 3x3 intrinsics matrix with positive focal lengths")
    return (u - K[:2, 2]) / torch.diagonal(K)[:2]


def true_pose(dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) of the right camera, x2 = R x1 + t: R = I (3, 3) and the unit t = (-1, 0, 0) (3,)."""
    return torch.eye(3, dtype=dtype), torch.tensor([-1.0, 0.0, 0.0], dtype=dtype)


def true_essential(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """E = [t]_x R (3, 3) of the rectified pair, unit Frobenius norm / sqrt(2) (|t| = 1): x2h^T E x1h = y1 - y2."""
    R, t = true_pose(dtype)
    return skew(t) @ R


def pixel_fundamental(E: torch.Tensor) -> torch.Tensor:
    """F = K_right^-T E K_left^-1 (..., 3, 3), scaled to unit Frobenius norm: the epipolar geometry in pixels."""
    E = val.as_tensor(E, "E")
    val.check_shape(E, "E", (3, 3))
    K1, K2 = intrinsics(E.dtype)
    F = torch.linalg.inv(K2).T @ E @ torch.linalg.inv(K1)
    return F / torch.linalg.matrix_norm(F)[..., None, None]


def label_matches(u1, u2, disparity, threshold_px: float = LABEL_THRESHOLD_PX) -> torch.Tensor:
    """Label each match (u1[i] in the left image, u2[i] in the right, pixels (N, 2) as (column, row)).

    The disparity d is read at the left keypoint's nearest pixel. INLIER (1) when
    |v2 - v1| <= threshold_px and |u2 - (u1 - d)| <= threshold_px; UNKNOWN (-1) where d is not
    finite or the keypoint lies outside the map; OUTLIER (0) otherwise. Returns (N,) int64.
    """
    u1, u2 = val.as_tensor(u1, "u1", torch.float64), val.as_tensor(u2, "u2", torch.float64)
    for name, u in (("u1", u1), ("u2", u2)):
        val.check_shape(u, name, (None, 2))
        if u.dim() != 2:
            raise ValueError(f"{name}: expected shape (N, 2), got {tuple(u.shape)}")
        val.check_finite(u, name)
    if u1.shape != u2.shape:
        raise ValueError(f"u1 and u2: shapes must match, got {tuple(u1.shape)} and {tuple(u2.shape)}")
    val.check_positive(threshold_px, "threshold_px")
    disp = np.asarray(disparity, dtype=np.float64)
    if disp.ndim != 2:
        raise ValueError(f"disparity: expected a 2-D map (H, W), got shape {disp.shape}")
    col, row = u1[:, 0].round().long(), u1[:, 1].round().long()
    inside = (row >= 0) & (row < disp.shape[0]) & (col >= 0) & (col < disp.shape[1])
    d = torch.full((len(u1),), float("nan"), dtype=torch.float64)
    d[inside] = torch.from_numpy(disp[row[inside].numpy(), col[inside].numpy()])
    known = torch.isfinite(d)
    agree = ((u2[:, 1] - u1[:, 1]).abs() <= threshold_px) & ((u2[:, 0] - (u1[:, 0] - d)).abs() <= threshold_px)
    labels = torch.full((len(u1),), OUTLIER, dtype=torch.int64)
    labels[known & agree] = INLIER
    labels[~known] = UNKNOWN
    return labels


@dataclass(frozen=True)
class Matches:
    """Matched ORB keypoints of the pair.

    u1, u2: (N, 2) float64 pixels (column, row) in the left and right image; label: (N,) int64
    (INLIER, OUTLIER, UNKNOWN, see ``label_matches``); x1, x2: (N, 2) normalised coordinates.
    """

    u1: torch.Tensor
    u2: torch.Tensor
    label: torch.Tensor
    x1: torch.Tensor
    x2: torch.Tensor

    @property
    def inlier(self) -> torch.Tensor:
        return self.label == INLIER

    @property
    def outlier(self) -> torch.Tensor:
        return self.label == OUTLIER

    @property
    def unknown(self) -> torch.Tensor:
        return self.label == UNKNOWN

    def __len__(self) -> int:
        return len(self.label)


@lru_cache(maxsize=4)
def _detect_and_match(n_keypoints: int, fast_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Keypoint coordinates (M, 2) (column, row) of the cross-checked matches, left then right."""
    from skimage.color import rgb2gray
    from skimage.feature import ORB, match_descriptors

    pair = load()
    found = []
    for image in (pair.left, pair.right):
        orb = ORB(n_keypoints=n_keypoints, fast_threshold=fast_threshold)
        orb.detect_and_extract(rgb2gray(image))
        found.append(orb)
    # mutual nearest neighbours in Hamming distance, and no ratio test: ambiguous matches stay in
    pairs = match_descriptors(found[0].descriptors, found[1].descriptors, cross_check=True)
    out = []
    for orb, column in zip(found, (0, 1), strict=True):
        rc = np.asarray(orb.keypoints)[pairs[:, column]]  # ORB gives (row, column)
        uv = np.ascontiguousarray(rc[:, ::-1], dtype=np.float64)
        uv.flags.writeable = False
        out.append(uv)
    return out[0], out[1]


def matches(n_keypoints: int = N_KEYPOINTS, fast_threshold: float = FAST_THRESHOLD,
            threshold_px: float = LABEL_THRESHOLD_PX) -> Matches:
    """ORB matches of the motorcycle pair, labelled from the ground-truth disparity (cached detection)."""
    if isinstance(n_keypoints, bool) or not isinstance(n_keypoints, int) or n_keypoints < 5:
        raise ValueError(f"n_keypoints: need an int >= 5 (a minimal set needs 5 matches), got {n_keypoints!r}")
    val.check_range(fast_threshold, "fast_threshold", 0.0, 1.0, closed="neither")
    val.check_positive(threshold_px, "threshold_px")
    uv1, uv2 = _detect_and_match(n_keypoints, float(fast_threshold))
    u1, u2 = torch.tensor(uv1), torch.tensor(uv2)
    K1, K2 = intrinsics()
    return Matches(u1, u2, label_matches(u1, u2, load().disparity, threshold_px), normalise(u1, K1), normalise(u2, K2))


def translation_direction(E: torch.Tensor) -> torch.Tensor:
    """The unit t (..., 3), up to sign, of E = [t]_x R: the left null vector, E^T t = 0 (last left singular vector)."""
    E = val.as_tensor(E, "E")
    val.check_shape(E, "E", (3, 3))
    return torch.linalg.svd(E).U[..., :, 2]
