"""AdaBelief (Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
Gradients", NeurIPS 2020), following the authors' package ``adabelief-pytorch`` 0.2.x.

Paper: https://arxiv.org/abs/2010.07468
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._batched import BatchedOptimizer, column
from tunecost.workers.optimizers._common import (
    check_hyperparameters,
    evaluate_closure,
    params_with_grads,
    rectification,
)


class AdaBelief(Optimizer):
    r"""AdaBelief: Adam whose second moment tracks the gradient's deviation from its mean.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        s_t &= \beta_2 s_{t-1} + (1 - \beta_2)(g_t - m_t)^2 + \epsilon \\
        w_t &= w_{t-1} - \frac{\alpha}{1 - \beta_1^t}
               \frac{m_t}{\sqrt{s_t / (1 - \beta_2^t)} + \epsilon}

    As in ``adabelief-pytorch`` 0.2.x, which departs from the paper's Algorithm 2 here:

    * epsilon is added inside :math:`s_t` *and kept in the state* (it accumulates), as
      well as to the denominator;
    * ``weight_decouple=True`` (default) decays :math:`w \leftarrow w(1 - \alpha\lambda)`
      before the update (``fixed_decay=True``: :math:`w(1 - \lambda)`); ``False`` adds
      :math:`\lambda w` to the gradient;
    * ``rectify=True`` (default) applies RAdam's rectification: while the variance's
      degrees of freedom :math:`\rho_t < 5` the step is SGD with momentum (bias-corrected,
      ``degenerated_to_sgd=True``) or nothing; afterwards the denominator is
      :math:`\sqrt{s_t} + \epsilon` *without* bias correction, the correction sitting in
      the rectified step size;
    * ``amsgrad=True`` keeps the running maximum of :math:`s_t + \epsilon`.

    Defaults are the package's: ``lr=1e-3``, ``eps=1e-16``, ``betas=(0.9, 0.999)``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-16,
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = False,
        weight_decouple: bool = True,
        fixed_decay: bool = False,
        rectify: bool = True,
        degenerated_to_sgd: bool = True,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "weight_decouple": weight_decouple,
            "fixed_decay": fixed_decay,
            "rectify": rectify,
            "degenerated_to_sgd": degenerated_to_sgd,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            # exp_avg: m_t, exp_avg_var: s_t, max_exp_avg_var: running max of s_t (amsgrad)
            buffers = (
                ("exp_avg", "exp_avg_var", "max_exp_avg_var")
                if group["amsgrad"]
                else ("exp_avg", "exp_avg_var")
            )
            for p, grad, state in params_with_grads(self, group, buffers):
                if group["weight_decouple"]:
                    p.mul_(1.0 - (weight_decay if group["fixed_decay"] else lr * weight_decay))
                elif weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)

                exp_avg, exp_avg_var = state["exp_avg"], state["exp_avg_var"]
                state["step"] += 1
                t = state["step"]
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                residual = grad - exp_avg
                exp_avg_var.mul_(beta2).addcmul_(residual, residual, value=1 - beta2)
                exp_avg_var.add_(eps)  # epsilon inside s_t, kept in the state (package behaviour)
                if group["amsgrad"]:
                    max_var = state["max_exp_avg_var"]
                    torch.maximum(max_var, exp_avg_var, out=max_var)
                    var = max_var
                else:
                    var = exp_avg_var

                if not group["rectify"]:
                    denom = (var.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                    p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
                    continue

                # RAdam's rectification (Liu et al. 2020), as forked by adabelief-pytorch
                rect = rectification(beta2, t)
                if rect is not None:
                    # the package uses the un-maximized s_t here even with amsgrad
                    denom = exp_avg_var.sqrt().add_(eps)
                    p.addcdiv_(exp_avg, denom, value=-lr * rect / bias_correction1)
                elif group["degenerated_to_sgd"]:
                    p.add_(exp_avg, alpha=-lr / bias_correction1)
        return loss


class BatchedAdaBelief(BatchedOptimizer):
    """:class:`AdaBelief`'s step for K stacked configs at once (:mod:`tunecost.workers.optimizers._batched`):
    the same maths and options, epsilon and alpha per config."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = False,
        weight_decouple: bool = True,
        fixed_decay: bool = False,
        rectify: bool = True,
        degenerated_to_sgd: bool = True,
    ) -> None:
        self.buffers = (
            ("exp_avg", "exp_avg_var", "max_exp_avg_var") if amsgrad else ("exp_avg", "exp_avg_var")
        )
        defaults = {
            "betas": tuple(betas),
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "weight_decouple": weight_decouple,
            "fixed_decay": fixed_decay,
            "rectify": rectify,
            "degenerated_to_sgd": degenerated_to_sgd,
        }
        super().__init__(params, alpha, eps, defaults)

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, weight_decay = (
            column(group["lr"] * group["alpha"], p),
            column(group["eps"], p),
            group["weight_decay"],
        )
        if group["weight_decouple"]:
            p.mul_(1.0 - (weight_decay if group["fixed_decay"] else lr * weight_decay))
        elif weight_decay != 0:
            grad = grad.add(p, alpha=weight_decay)
        exp_avg, exp_avg_var = state["exp_avg"], state["exp_avg_var"]
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        # the plain step's operations in its order, into as few new tensors as they allow (one
        # temporary, reused: a block's tensors then stay in cache), equal to the last bit
        residual = grad - exp_avg
        exp_avg_var.mul_(beta2).addcmul_(residual, residual, value=1 - beta2)
        exp_avg_var.add_(eps)
        if group["amsgrad"]:
            max_var = state["max_exp_avg_var"]
            torch.maximum(max_var, exp_avg_var, out=max_var)
            var = max_var
        else:
            var = exp_avg_var
        if not group["rectify"]:
            denom = torch.sqrt(var, out=residual).div_(math.sqrt(bias_correction2)).add_(eps)
            p.sub_(torch.div(exp_avg, denom, out=denom).mul_(lr / bias_correction1))
            return
        rect = rectification(beta2, t)
        if rect is not None:
            denom = torch.sqrt(exp_avg_var, out=residual).add_(eps)  # the un-maximized s_t, as the plain step
            p.sub_(torch.div(exp_avg, denom, out=denom).mul_(lr * rect / bias_correction1))
        elif group["degenerated_to_sgd"]:
            p.sub_(exp_avg * (lr / bias_correction1))
