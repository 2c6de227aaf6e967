"""mbp_teach: the package behind the notebooks. Notebooks narrate; this package computes and is tested.

The tree follows the course, one subpackage per part:

- ``solvers`` (notebook 01): minimal solvers built stage by stage, RANSAC, their figures and panel;
- ``gradients`` (02): the backward switch, the implicit function theorem, declarative nodes,
  finite differences and the four-way comparison;
- ``minbackprop`` (03): outlier-rejection weights trained through a minimal solver;
- ``momentum`` (04-05): heavy ball, and adaptive momentum on networks whose layers form a DAG;
- ``hf`` (06-07): Hessian-free optimisation, L-BFGS preconditioning and growing samples.

Shared by every part: ``data`` (seeded synthetic problems), ``validation`` (input checks),
``plotting`` (figures without widgets), ``notebook`` (set-up, ``show``, ``claim``) and
``panels`` (the slider-panel machinery). Roles: ``course`` (exercise checkers, site, slides,
assignments), ``bench`` (``python -m mbp_teach.bench``), ``experiments`` (long runs).
"""

__version__ = "0.1.0"

#: The course's parts, in teaching order: each is a subpackage with its own ``exercises``,
#: ``plots`` and (where it has sliders) ``panels`` modules.
PARTS = ("solvers", "gradients", "minbackprop", "momentum", "hf")
