"""Small problems written as a module plus a loss, so HF's Gauss-Newton applies to them too.

* Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 = ||r||^2 with residuals
  r = (1 - x, 10 (y - x^2)): the "network" outputs r, the loss is sum r_i^2, and Gauss-Newton is
  2 J^T J -- Levenberg-Marquardt, exactly.
* A convex quadratic 1/2 ||L theta - c||^2: Gauss-Newton = Hessian = L^T L.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from mbp_teach.hf.conjugate_gradient import cg
from mbp_teach.hf.curvature import ModuleObjective
from mbp_teach.hf.optimizer import Damping, HessianFree, Solve

ROSENBROCK_START = (-1.2, 1.0)


class RosenbrockResiduals(nn.Module):
    def __init__(self, start=ROSENBROCK_START):
        super().__init__()
        self.xy = nn.Parameter(torch.tensor(start, dtype=torch.float64))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, y = self.xy[0], self.xy[1]
        r = torch.stack([1 - x, 10 * (y - x**2)])
        return r.expand(inputs.shape[0], 2)


def squared_norm(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """sum_i (z_i - t_i)^2 averaged over rows (for Rosenbrock: one row, t = 0)."""
    return ((z - t) ** 2).reshape(z.shape[0], -1).sum(dim=1).mean()


def rosenbrock(xy) -> torch.Tensor:
    """The function itself on (..., 2) points (for contour plots)."""
    xy = torch.as_tensor(xy, dtype=torch.float64)
    return (1 - xy[..., 0]) ** 2 + 100 * (xy[..., 1] - xy[..., 0] ** 2) ** 2


def rosenbrock_objective(start=ROSENBROCK_START) -> ModuleObjective:
    z = torch.zeros(1, 2, dtype=torch.float64)
    return ModuleObjective(RosenbrockResiduals(start), squared_norm, z, z)


class Linear(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(dim, dtype=torch.float64))

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return L @ self.theta  # one "example" per row of L


def quadratic_objective(L: torch.Tensor, c: torch.Tensor) -> ModuleObjective:
    """F(theta) = 1/2 sum_rows (L theta - c)^2 (no averaging: each row is a residual of one example)."""
    n = L.shape[0]

    def loss(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * n * ((z - t) ** 2).mean()

    return ModuleObjective(Linear(L.shape[1]), loss, L, c)


def rosenbrock_paths(steps: int = 200, start=ROSENBROCK_START, hf_damping: float = 1.0, hf_max_cg: int = 2,
                     tol: float = 1e-8) -> dict[str, torch.Tensor]:
    """Iterates of gradient descent, heavy ball, torch.optim.LBFGS and HF from ``start`` (each (k, 2)).

    GD: step 1e-3 (about the largest stable one near the valley floor); heavy ball: 1e-3, beta = 0.9;
    L-BFGS: strong-Wolfe line search, one iteration per record; HF: Gauss-Newton, stops at ||x - x*|| <= tol.
    """
    makers: dict[str, Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]] = {
        "gradient descent": lambda p: torch.optim.SGD(p, lr=1e-3),
        "momentum": lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9),
        "L-BFGS": lambda p: torch.optim.LBFGS(p, lr=1, max_iter=1, max_eval=25, tolerance_grad=1e-12,
                                              tolerance_change=1e-15, line_search_fn="strong_wolfe"),
    }
    out = {name: _torch_optimizer_path(make, start, steps) for name, make in makers.items()}
    out["Hessian-free"] = hf_path(rosenbrock_objective(start), hf_damping, hf_max_cg, steps, tol)
    return out


def _torch_optimizer_path(make: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
                          start: tuple[float, float], steps: int) -> torch.Tensor:
    """(steps + 1, 2) iterates of the torch optimiser ``make(params)`` on Rosenbrock from ``start``."""
    model = RosenbrockResiduals(start)
    opt = make(model.parameters())
    path = [model.xy.detach().clone()]

    def closure() -> float:
        opt.zero_grad()
        value = rosenbrock(model.xy)
        value.backward()
        return float(value.detach())

    for _ in range(steps):
        opt.step(closure)
        path.append(model.xy.detach().clone())
    return torch.stack(path)


def hf_path(obj: ModuleObjective, damping: float, max_cg: int, steps: int, tol: float = 1e-8,
            warm_start: float = 0.95) -> torch.Tensor:
    """(k + 1, 2) iterates of HF (initial damping ``damping``, at most ``max_cg`` CG iterations per step, CG started
    from ``warm_start`` x the previous solution) on the Rosenbrock objective ``obj``, for ``steps`` steps or until
    ||theta - (1, 1)|| <= tol."""
    opt = HessianFree(obj.model.parameters(), damping=Damping(damping), solve=Solve(max_cg=max_cg, warm_start=warm_start))
    path = [obj.get_params()]
    for _ in range(steps):
        opt.step(obj)
        path.append(obj.get_params())
        if float((path[-1] - 1.0).norm()) <= tol:
            break
    return torch.stack(path)


def spectrum(n: int, kappa: float) -> torch.Tensor:
    """n eigenvalues evenly spaced in [1, kappa] (the case the CG bound is made for). CG is invariant
    under rotations, so a diagonal matrix with this spectrum behaves like any matrix with it."""
    if n < 2 or not kappa >= 1:
        raise ValueError(f"n, kappa: need n >= 2 and kappa >= 1, got n={n}, kappa={kappa}")
    return torch.linspace(1.0, kappa, n, dtype=torch.float64)


def cg_error_curves(kappas, n: int = 3000, iters: int = 1000, seed: int = 0) -> dict[float, torch.Tensor]:
    """For each kappa: ||x_i - x*||_A / ||x*||_A over CG iterations i = 0..(converged) from x_0 = 0."""
    out = {}
    b = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for kappa in kappas:
        lam = spectrum(n, kappa)
        star = b / lam
        _, hist = cg(lam.mul, b, max_iters=iters, rtol=1e-12, keep=list(range(iters + 1)))
        errs = [float(torch.sqrt(((hist.kept[i] - star) ** 2 * lam).sum())) for i in sorted(hist.kept)]
        out[float(kappa)] = torch.tensor(errs) / errs[0]
    return out


def cg_bound(kappa: float, i) -> torch.Tensor:
    """2 ((sqrt k - 1) / (sqrt k + 1))^i, the classical bound on ||e_i||_A / ||e_0||_A."""
    s = kappa**0.5
    return 2 * ((s - 1) / (s + 1)) ** torch.as_tensor(i, dtype=torch.float64)


def one_cg_anatomy(damping: float = 1.0, steps: int = 6, warm_start: float = 0.95) -> list[dict[str, float]]:
    """HF with ONE CG iteration per step on Rosenbrock from (-1.2, 1), taken apart iteration by iteration.

    One CG iteration from the warm start x0 = w d_{k-1} (w = ``warm_start``) moves along the first residual
    r0 = -g - B x0 (B = G + lambda I), so d_k = x0 + alpha r0 = w (I - alpha B) d_{k-1} - alpha g,
    alpha = r0^T r0 / r0^T B r0: heavy-ball momentum whose momentum term is filtered by the curvature.
    Per iteration k: ``cos_gradient`` = cos(d_k, -g_k), ``alpha``, and ``identity_error`` =
    ||d_k - (w (I - alpha B) d_{k-1} - alpha g)|| / ||d_k|| (round-off if the formula is right).
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps: need an integer >= 1, got {steps!r}")
    obj = rosenbrock_objective()
    opt = HessianFree(obj.model.parameters(), damping=Damping(damping), solve=Solve(max_cg=1, warm_start=warm_start))
    out = []
    for _ in range(steps):
        theta, lam = obj.get_params(), opt.damping
        _, g = obj.loss_and_grad(theta)
        B = torch.stack([obj.gauss_newton(theta)(e) for e in torch.eye(2, dtype=torch.float64)], 1) \
            + lam * torch.eye(2, dtype=torch.float64)
        prev = opt.previous if (opt.previous is not None and warm_start > 0) else torch.zeros(2, dtype=torch.float64)
        opt.step(obj)
        d = opt.previous
        assert d is not None  # step() always stores its solution
        x0 = warm_start * prev
        r0 = -g - B @ x0
        alpha = float(r0 @ r0) / float(r0 @ B @ r0)
        predicted = warm_start * (prev - alpha * B @ prev) - alpha * g
        out.append(dict(cos_gradient=float(d @ -g) / float(d.norm() * g.norm()), alpha=alpha,
                        identity_error=float((d - predicted).norm()) / float(d.norm())))
    return out


def cost_to_minimum(tol: float = 1e-8, steps: int = 100, hf_damping: float = 1.0,
                    hf_max_cg: int = 2) -> dict[str, dict[str, float]]:
    """Iterations and gradient-equivalent passes until ||x - (1, 1)|| <= ``tol`` from (-1.2, 1), for torch's L-BFGS
    (strong Wolfe; one pass per loss-and-gradient evaluation, line-search trials included) and HF (its own
    accounting: gradient 1, Gauss-Newton product 4/3, loss 1/3). ``reached``: 1.0 if within ``steps`` iterations."""
    model = RosenbrockResiduals()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=1, max_eval=25, tolerance_grad=1e-12,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")
    calls = 0

    def closure() -> float:
        nonlocal calls
        calls += 1
        opt.zero_grad()
        value = rosenbrock(model.xy)
        value.backward()
        return float(value.detach())

    lbfgs = dict(iterations=float(steps), passes=math.nan, reached=0.0)
    for k in range(steps):
        opt.step(closure)
        if float((model.xy.detach() - 1.0).norm()) <= tol:
            lbfgs = dict(iterations=float(k + 1), passes=float(calls), reached=1.0)
            break
    obj = rosenbrock_objective()
    hf = HessianFree(obj.model.parameters(), damping=Damping(hf_damping), solve=Solve(max_cg=hf_max_cg))
    out_hf = dict(iterations=float(steps), passes=math.nan, reached=0.0)
    for k in range(steps):
        hf.step(obj)
        if float((obj.get_params() - 1.0).norm()) <= tol:
            out_hf = dict(iterations=float(k + 1), passes=hf.log[-1].passes, reached=1.0)
            break
    return {"L-BFGS": lbfgs, "Hessian-free": out_hf}
