"""Part 2 (notebook 02): four ways to differentiate a minimal solver.

- ``backward``: the one switch, ``backward="autograd" | "ift" | "ddn"``, every solver takes;
- ``implicit``: the implicit-function-theorem backward on a square residual F(x, y) = 0;
- ``ddn``: the solver as a declarative node (objective + constraints), Gould et al.'s gradient;
- ``finite_diff``: central differences and a Richardson reference gradient;
- ``residuals``, ``essential_tangent``: the solvers' residuals (full and tangent-space);
- ``problems``: seeded problems and sign-invariant losses for the comparisons;
- ``compare``: the four gradients side by side (error, time, flags);
- ``panels``, ``exercises``: the notebook's sliders and checked exercises.

Nothing is imported here, so that the solvers can import ``backward`` without a cycle.
"""
