"""Minimal solvers, batched over leading dimensions, float32/float64, differentiable.

- ``companion_roots``: polynomial roots as companion-matrix eigenvalues (``polynomial``);
- ``kabsch``, ``rigid_transform``: weighted rotation / rigid motion between point sets (``rotation``);
- ``eight_point``: weighted Hartley-normalised fundamental matrix (``fundamental``);
- ``five_point``: Nister's essential-matrix solver, stage by stage (``essential``).

Each solver validates its input (``ValueError`` naming the problem) and then runs its private
forward (plain autograd-differentiable functions of already-validated tensors, e.g.
``rotation._kabsch_forward``) through ``mbp_teach.gradients.backward.dispatch`` with the chosen
``backward``. Everything the suite needs about a differentiable solver -- its residual, declarative
node, test problems, loss, benchmark inputs -- is declared once, beside its forward, in a ``SolverSpec``
(``spec``); ``SPECS`` maps each registered solver's name to its spec, in the course's order.
"""

# The modules register their specs when imported: this order (rotations, fundamental matrix, essential
# matrix: the course's) is the order of SPECS, hence of every table that loops over the solvers.
from mbp_teach.solvers.rotation import (
    cross_covariance,
    kabsch,
    rigid_transform,
    rotation_residual,
    weighted_centroid,
)

# isort: split
from mbp_teach.solvers.fundamental import (
    eight_point,
    enforce_rank2,
    hartley_normalisation,
    least_squares_f,
    weighted_moment,
)

# isort: split
from mbp_teach.solvers.epipolar import epipolar_residuals, epipolar_rows, homogeneous, sampson_distance
from mbp_teach.solvers.essential import (
    BASIS,
    MONOMIALS,
    action_matrix,
    compose_essential,
    constraint_matrix,
    eliminate,
    essential_constraints,
    five_point,
    null_space_basis,
    roots_from_action,
)
from mbp_teach.solvers.polynomial import companion_matrix, companion_roots, polynomial_residual
from mbp_teach.solvers.spec import SPECS, SolverSpec, register

__all__ = [
    "BASIS", "MONOMIALS", "SPECS", "SolverSpec", "action_matrix", "companion_matrix", "companion_roots",
    "compose_essential", "constraint_matrix", "cross_covariance", "eight_point", "eliminate", "enforce_rank2",
    "epipolar_residuals", "epipolar_rows", "essential_constraints", "five_point", "hartley_normalisation",
    "homogeneous", "kabsch", "least_squares_f", "null_space_basis", "polynomial_residual", "register",
    "rigid_transform", "roots_from_action", "rotation_residual", "sampson_distance", "weighted_centroid",
    "weighted_moment",
]
