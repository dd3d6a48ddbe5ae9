"""Delayed Adam (Savarese et al., CVPR 2021, Section 8): Adam whose step uses v_{t-1}.

Paper: https://arxiv.org/abs/1912.01823
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._batched import BatchedOptimizer, column
from tunecost.workers.optimizers._common import check_hyperparameters, evaluate_closure, params_with_grads


class DelayedAdam(Optimizer):
    r"""Adam with a one-step-delayed second moment: the adaptive step size is independent of g_t.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        w_t &= w_{t-1} - \frac{\alpha}{1 - \beta_1^t}
               \frac{m_t}{\sqrt{v_{t-1} / (1 - \beta_2^{t-1})} + \epsilon}
               \qquad (t > 1;\ \text{no update at } t = 1) \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2

    The delay is what the paper's convergence argument needs (the step size must not
    depend on the current sample). The authors publish no code for it; where the
    paper leaves details open this follows their AvaGrad code: epsilon outside the
    root of the bias-corrected moment, and no update at step 1 (where
    :math:`v_0 = 0` would make the step :math:`\alpha m_1 / \epsilon`).
    ``weight_decay`` is L2 regularization added to the gradient, as in Adam.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            # exp_avg: m_t, exp_avg_sq: v_t
            for p, grad, state in params_with_grads(self, group, ("exp_avg", "exp_avg_sq")):
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                t = state["step"]
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                if t > 1:
                    denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2 ** (t - 1)) + eps  # from v_{t-1}
                    p.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**t))
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        return loss


class BatchedDelayedAdam(BatchedOptimizer):
    """:class:`DelayedAdam`'s step for K stacked configs at once (:mod:`tunecost.workers.optimizers._batched`)."""

    buffers = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, alpha, eps, {"betas": tuple(betas), "weight_decay": weight_decay})

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        beta1, beta2 = group["betas"]
        lr, weight_decay = column(group["lr"] * group["alpha"], p), group["weight_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if weight_decay != 0:
            grad = grad.add(p, alpha=weight_decay)
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        if t > 1:
            # from v_{t-1}; the operations of the plain step, into one new tensor
            denom = exp_avg_sq.sqrt().div_(math.sqrt(1 - beta2 ** (t - 1))).add_(column(group["eps"], p))
            p.sub_(torch.div(exp_avg, denom, out=denom).mul_(lr / (1 - beta1**t)))
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
