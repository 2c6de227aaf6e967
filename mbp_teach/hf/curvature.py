"""Curvature-vector products for any ``torch.nn.Module`` and loss, never forming a matrix.

The objective is F(theta) = L(f(theta, x), t): a network f with outputs z and a loss L of those
outputs (mean over the examples). With J = dz/dtheta and H_L = d^2 L / dz^2:

* Gauss-Newton:  G v = J^T H_L J v   -- one forward-mode pass (jvp: J v), one H_L product on the
  outputs, one reverse-mode pass (vjp: J^T u). G is positive semi-definite whenever H_L is
  (squared error, cross-entropy on logits), which is why Hessian-free uses it (Schraudolph 2002;
  Martens 2010).
* Hessian:       H v = d/de grad F(theta + e v) at e = 0  -- forward-over-reverse.

Parameters travel as one flat vector (CG and the preconditioners work on vectors); the module
is evaluated with ``torch.func.functional_call``, so its own parameters are never modified here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vjp

from mbp_teach.validation import as_tensor, check_finite

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sum_squared_error(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """1/2 sum over outputs of (z - t)^2, averaged over examples (H_L = I / batch)."""
    return 0.5 * ((z - t) ** 2).reshape(z.shape[0], -1).sum(dim=1).mean()


class ModuleObjective:
    """F(theta) on (a subset of) the data, for a module, a loss and data (inputs, targets).

    ``idx`` arguments select examples (a LongTensor of row indices, or None for all of them).
    ``inputs``: (N, ...) floating point. ``targets``: (N, ...) of any real dtype the loss accepts, e.g. float
    targets for squared error or int64 class indices (N,) for ``torch.nn.functional.cross_entropy``. The loss is
    evaluated once on all the data here, so targets the loss refuses raise ``ValueError`` at once.
    """

    def __init__(self, model: nn.Module, loss: Loss, inputs: torch.Tensor, targets: torch.Tensor):
        inputs = as_tensor(inputs, "inputs")
        targets = _as_targets(targets)
        if inputs.dim() < 1 or targets.dim() < 1 or inputs.shape[0] != targets.shape[0] or inputs.shape[0] < 1:
            raise ValueError(f"inputs, targets: need the same number (>= 1) of rows, got shapes "
                             f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
        check_finite(inputs, "inputs")
        if targets.is_floating_point():
            check_finite(targets, "targets")
        self.model, self.loss_fn, self.inputs, self.targets = model, loss, inputs, targets
        self.names = [n for n, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        if not params:
            raise ValueError("model: has no parameters")
        try:
            with torch.no_grad():
                value = loss(model(inputs), targets)
        except (RuntimeError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"loss: cannot be evaluated on these outputs and targets ({targets.dtype}, shape "
                             f"{tuple(targets.shape)}): {exc}") from None
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ValueError(f"loss: must return a scalar tensor, got {type(value).__name__} "
                             f"{tuple(getattr(value, 'shape', ()))}")
        self.shapes = [p.shape for p in params]
        self.sizes = [p.numel() for p in params]

    # -- flat vector <-> named tensors --------------------------------------------------------
    @property
    def n(self) -> int:
        return self.inputs.shape[0]

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        return {n: t.view(s) for n, t, s in zip(self.names, theta.split(self.sizes), self.shapes, strict=True)}

    def flatten(self, tensors) -> torch.Tensor:
        return torch.cat([t.reshape(-1) for t in tensors])

    def get_params(self) -> torch.Tensor:
        return self.flatten(p.detach() for p in self.model.parameters())

    def set_params(self, theta: torch.Tensor) -> None:
        with torch.no_grad():
            for p, t in zip(self.model.parameters(), theta.split(self.sizes), strict=True):
                p.copy_(t.view_as(p))

    def _batch(self, idx):
        return (self.inputs, self.targets) if idx is None else (self.inputs[idx], self.targets[idx])

    def outputs(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.model, self.unflatten(theta), (x,))

    # -- values and derivatives ---------------------------------------------------------------
    def loss(self, theta: torch.Tensor, idx=None) -> float:
        x, t = self._batch(idx)
        with torch.no_grad():
            return float(self.loss_fn(self.outputs(theta, x), t))

    def loss_and_grad(self, theta: torch.Tensor, idx=None) -> tuple[float, torch.Tensor]:
        x, t = self._batch(idx)
        theta = theta.detach().requires_grad_(True)
        value = self.loss_fn(self.outputs(theta, x), t)
        (g,) = torch.autograd.grad(value, theta)
        return float(value.detach()), g

    def gauss_newton(self, theta: torch.Tensor, idx=None) -> Callable[[torch.Tensor], torch.Tensor]:
        """v -> G v = J^T H_L J v on the selected examples (the forward graph is built once)."""
        x, t = self._batch(idx)
        theta = theta.detach()

        def f(th: torch.Tensor) -> torch.Tensor:
            return self.outputs(th, x)

        # [:2] and [1]: torch annotates vjp and jvp as maybe returning has_aux=True's extra item
        z, pullback = vjp(f, theta)[:2]
        loss_hvp = _output_hessian_product(self.loss_fn, z.detach(), t)

        def matvec(v: torch.Tensor) -> torch.Tensor:
            jv = jvp(f, (theta,), (v,))[1]
            return pullback(loss_hvp(jv))[0]

        return matvec

    def hessian(self, theta: torch.Tensor, idx=None) -> Callable[[torch.Tensor], torch.Tensor]:
        """v -> H v, the exact Hessian of F (forward-over-reverse); may be indefinite."""
        x, t = self._batch(idx)
        theta = theta.detach()
        g = grad(lambda th: self.loss_fn(self.outputs(th, x), t))
        return lambda v: jvp(g, (theta,), (v,))[1]

    def squared_gradient_sum(self, theta: torch.Tensor, idx=None) -> torch.Tensor:
        """sum_i g_i^2 / N over the selected examples (per-example gradients g_i; Martens' diagonal)."""
        x, t = self._batch(idx)
        theta = theta.detach()

        def one(th: torch.Tensor, xi: torch.Tensor, ti: torch.Tensor) -> torch.Tensor:
            return self.loss_fn(self.outputs(th, xi[None]), ti[None])

        per = torch.func.vmap(grad(one), in_dims=(None, 0, 0))(theta, x, t)
        return (per**2).mean(dim=0)


def _as_targets(targets) -> torch.Tensor:
    """Targets as a tensor of a real dtype, kept as given (class indices stay integers); floats from lists."""
    if not isinstance(targets, torch.Tensor):
        try:
            targets = torch.as_tensor(targets)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"targets: cannot be read as a tensor ({exc})") from None
        if targets.is_floating_point():
            targets = targets.to(torch.float64)
    if targets.is_complex():
        raise ValueError(f"targets: expected a real dtype (floating point or integer class indices), got {targets.dtype}")
    return targets


def _output_hessian_product(loss: Loss, z: torch.Tensor, t: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """u -> H_L u at the outputs z, by differentiating the loss gradient's graph (built once) along u.

    Same numbers as ``jvp(grad(loss), (z,), (u,))``, but the loss's graph is tiny and built once per
    batch, so a product costs one short backward pass instead of a fresh transform (about 0.8 ms
    of fixed cost per product on a CPU, which dominated products on small samples).
    """
    with torch.enable_grad():
        zr = z.detach().requires_grad_(True)
        (gz,) = torch.autograd.grad(loss(zr, t), zr, create_graph=True)
    if not gz.requires_grad:  # a loss linear in z: H_L = 0
        return torch.zeros_like

    def product(u: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            (hu,) = torch.autograd.grad(gz, zr, u, retain_graph=True, allow_unused=True)
        return torch.zeros_like(u) if hu is None else hu

    return product


def dense(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, dtype=torch.float64) -> torch.Tensor:
    """The matrix of a linear map, column by column (for checks on small models only)."""
    eye = torch.eye(dim, dtype=dtype)
    return torch.stack([matvec(eye[:, j]) for j in range(dim)], dim=1)
