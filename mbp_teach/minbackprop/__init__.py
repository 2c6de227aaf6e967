"""MinBackProp end to end: training outlier-rejection weights through a minimal solver.

Sungatullina & Pajdla (2024) differentiate minimal solvers with the implicit function theorem
and train through them. This package reproduces their experiments at CPU scale:

- ``toys``: the paper's two toys (weights of 4 points through ``kabsch``, of 15 correspondences
  through ``eight_point``) trained by SGD, once per backward mode;
- ``filter``: a per-correspondence MLP with context normalisation that scores inliers;
- ``sampling``: minimal sets drawn by those scores (Gumbel top-k, straight-through);
- ``pose``: essential matrix -> (R, t) with cheirality, angular errors, AUC;
- ``ransac``: pose estimation for evaluation: ``solvers.ransac``'s loop, sets drawn by the scores;
- ``train``: the training loop with stability accounting and backward timing.
"""
