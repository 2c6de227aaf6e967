"""Minimal solvers, batched over leading dimensions, float32/float64, differentiable.

- ``companion_roots``: polynomial roots as companion-matrix eigenvalues (``polynomial``);
- ``kabsch``, ``rigid_transform``: weighted rotation / rigid motion between point sets (``rotation``);
- ``eight_point``: weighted Hartley-normalised fundamental matrix (``fundamental``);
- ``five_point``: Nister's essential-matrix solver, stage by stage (``essential``).

Each solver validates its input (``ValueError`` naming the problem) and then runs its private
forward (``_kabsch_forward``, ``_rigid_forward``, ``_eight_point_forward``, ``_five_point_forward``:
plain autograd-differentiable functions of already-validated tensors) through
``mbp_teach.gradients.backward.dispatch`` with the chosen ``backward``.
"""

from mbp_teach.solvers.epipolar import epipolar_residuals, epipolar_rows, homogeneous, sampson_distance
from mbp_teach.solvers.essential import (
    BASIS,
    MONOMIALS,
    _five_point_forward,
    action_matrix,
    compose_essential,
    constraint_matrix,
    eliminate,
    essential_constraints,
    five_point,
    null_space_basis,
    roots_from_action,
)
from mbp_teach.solvers.fundamental import (
    _eight_point_forward,
    eight_point,
    enforce_rank2,
    hartley_normalisation,
    least_squares_f,
    weighted_moment,
)
from mbp_teach.solvers.polynomial import companion_matrix, companion_roots
from mbp_teach.solvers.rotation import (
    _kabsch_forward,
    _rigid_forward,
    cross_covariance,
    kabsch,
    rigid_transform,
    weighted_centroid,
)

__all__ = [
    "BASIS", "MONOMIALS", "action_matrix", "companion_matrix", "companion_roots", "compose_essential",
    "constraint_matrix", "cross_covariance", "eight_point", "eliminate", "enforce_rank2", "epipolar_residuals",
    "epipolar_rows", "essential_constraints", "five_point", "hartley_normalisation", "homogeneous", "kabsch",
    "least_squares_f", "null_space_basis", "rigid_transform", "roots_from_action", "sampson_distance", "weighted_centroid",
    "weighted_moment", "_kabsch_forward", "_rigid_forward", "_eight_point_forward", "_five_point_forward",
]
