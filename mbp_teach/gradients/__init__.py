"""Part 2 (notebook 02): four ways to differentiate a minimal solver.

- ``backward``: the one switch, ``backward="autograd" | "ift" | "ddn"``, every solver takes, and the
  loop the IFT and DDN share (a solver's ``SolverSpec`` says what its answer satisfies);
- ``implicit``: the implicit-function-theorem backward on a square residual F(x, y) = 0;
- ``ddn``: a declarative node (objective + constraints), Gould et al.'s gradient;
- ``essential_tangent``: the IFT for essential matrices as a 5 x 5 system on their manifold (five_point's);
- ``finite_diff``: central differences and a Richardson reference gradient;
- ``problems``: seeded problems and sign-invariant losses for the comparisons, read from the solvers' specs;
- ``compare``: the four gradients side by side (error, time, flags);
- ``plots``, ``panels``, ``exercises``: the notebook's figures, sliders and checked exercises.

The machinery (``backward``, ``implicit``, ``ddn``, ``essential_tangent``) knows no solver and imports none,
and nothing is imported here: the solvers import the machinery without a cycle. Each solver's residual and
node live beside the solver, in ``mbp_teach.solvers``.
"""
