"""Hessian-free optimisation (Martens 2010) with implicit L-BFGS preconditioning and growing
samples (Sainath et al. 2013), one concept per module:

* ``conjugate_gradient`` -- ``cg``: preconditioned / flexible conjugate gradient with its history and Martens'
  stopping rule;
* ``curvature`` -- Gauss-Newton and Hessian vector products for any module and loss (torch.func);
* ``precond`` -- no, Martens' diagonal and implicit L-BFGS preconditioners;
* ``optimizer`` -- the ``HessianFree`` torch optimiser (damping, backtracking, line search, sampling), set up
  by five small groups: ``Damping``, ``Solve``, ``LineSearch``, ``Sampling``, ``Preconditioning``;
* ``problems`` -- small test problems (Rosenbrock as least squares, quadratics) and CG error curves;
* ``curves`` -- the CURVES-like synthetic images and their deep autoencoder;
* ``compare`` -- HF variants and first-order optimisers on that autoencoder, with their costs;
* ``plots`` -- the notebooks' figures; ``panels`` -- their interactive panels (the only module that needs
  ipywidgets); ``exercises`` -- the checkers of notebooks 06 and 07.
"""

from mbp_teach.hf.conjugate_gradient import CGHistory, cg
from mbp_teach.hf.curvature import ModuleObjective, sum_squared_error
from mbp_teach.hf.optimizer import Damping, HessianFree, LineSearch, Preconditioning, Sampling, Solve

__all__ = ["CGHistory", "cg", "ModuleObjective", "sum_squared_error", "HessianFree",
           "Damping", "Solve", "LineSearch", "Sampling", "Preconditioning"]
