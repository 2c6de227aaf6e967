"""mbp_teach: the helper package behind the notebooks.

Notebooks narrate and call; this package computes and is unit tested. One module per
concept: ``solvers`` (minimal solvers), ``data`` (seeded synthetic problems), ``implicit``
(implicit-function-theorem backward), ``momentum``, ``hf`` (Hessian-free), ...
"""

__version__ = "0.1.0"
