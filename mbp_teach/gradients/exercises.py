"""Checkers for notebook 02 (four ways to differentiate a minimal solver)."""

from __future__ import annotations

import numpy as np
import torch

from mbp_teach.course.exercises import Hint, exercise
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import kabsch
from mbp_teach.solvers.rotation import rotation_residual


def _reference_vjp(Jy: torch.Tensor, Jx: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return -torch.linalg.solve(Jy.T, v) @ Jx


Case = tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


def _cases() -> list[Case]:
    """(name, dF/dy, dF/dx, v, true dL/dx or None): a random system and a real Kabsch problem."""
    g = torch.Generator().manual_seed(202)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64) + 4 * torch.eye(4, dtype=torch.float64)
    A[0, 1] += 3.0  # clearly not symmetric
    cases: list[Case] = [("a random 4 x 4 system (dF/dy not symmetric)", A, torch.randn(4, 6, generator=g, dtype=torch.float64),
              torch.randn(4, generator=g, dtype=torch.float64), None)]
    P, Q, w = (t[0] for t in gp.inputs("kabsch", 1, seed=g))
    R = kabsch(P, Q, w)
    G = torch.randn(3, 3, generator=g, dtype=torch.float64)
    Jy = torch.func.jacrev(rotation_residual, argnums=0)(R.flatten(), P, Q, w)
    Jx = torch.cat([j.reshape(9, -1) for j in torch.func.jacrev(rotation_residual, argnums=(1, 2, 3))(
        R.flatten(), P, Q, w)], 1)
    Pg, Qg, wg = (t.clone().requires_grad_(True) for t in (P, Q, w))
    true = torch.cat([t.reshape(-1) for t in torch.autograd.grad((kabsch(Pg, Qg, wg) * G).sum(), (Pg, Qg, wg))])
    cases.append(("the Kabsch residual at a solution, loss sum(G * R)", Jy, Jx, G.flatten(), true))
    return cases


def _wrong_sign(Jy, Jx, v):
    return torch.linalg.solve(Jy.T, v) @ Jx


def _wrong_no_transpose(Jy, Jx, v):
    return -torch.linalg.solve(Jy, v) @ Jx


def _wrong_forgot_dFdx(Jy, Jx, v):
    return -torch.linalg.solve(Jy.T, v)


@exercise("02.ift_vjp", wrong=[(_wrong_sign, "minus"), (_wrong_no_transpose, "transpose"),
                               (_wrong_forgot_dFdx, "dF/dx")])
def check_ift_vjp(fn) -> str:
    """fn(dF/dy (n, n), dF/dx (n, m), v (n,)) -> dL/dx (m,) = -u^T dF/dx with (dF/dy)^T u = v."""
    cases = _cases()
    for name, Jy, Jx, v, true in cases:
        got = torch.as_tensor(np.asarray(fn(Jy.clone(), Jx.clone(), v.clone()), dtype=np.float64))
        want = _reference_vjp(Jy, Jx, v)
        where = f"on {name}"
        if got.shape != want.shape:
            raise Hint(f"{where} expected a vector of shape {tuple(want.shape)} (one entry per input), got "
                       f"{tuple(got.shape)}: did you forget to multiply u by dF/dx?")
        if torch.allclose(got, want, atol=1e-9):
            if true is not None and not torch.allclose(got, true, atol=1e-8):
                raise Hint(f"{where} the formula is right but does not match autograd: report this case")
            continue
        if torch.allclose(got, -want, atol=1e-9):
            raise Hint(f"{where} the sign is wrong: differentiating F(x, y(x)) = 0 gives "
                       "dy/dx = -(dF/dy)^-1 dF/dx, so the gradient has a minus")
        if torch.allclose(got, -torch.linalg.solve(Jy, v) @ Jx, atol=1e-9):
            raise Hint(f"{where} solve with the transpose: (dF/dy)^T u = v, because v^T (dF/dy)^-1 = u^T")
        raise Hint(f"{where} expected {np.round(want.numpy()[:4], 4)}..., got {np.round(got.numpy()[:4], 4)}...")
    return (f"matches on {len(cases)} hidden cases; on the Kabsch residual it equals autograd's gradient "
            "through the SVD")
