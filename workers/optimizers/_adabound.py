"""AdaBound and AMSBound (Luo, Xiong, Liu & Sun, "Adaptive Gradient Methods with Dynamic Bound
of Learning Rate", ICLR 2019), following the authors' package ``adabound`` 0.0.5
(github.com/Luolc/AdaBound).

Paper: https://arxiv.org/abs/1902.09843
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._common import check_hyperparameters, evaluate_closure, params_with_grads


class AdaBound(Optimizer):
    r"""Adam whose per-coordinate step size is clipped into bounds that close in on SGD's.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \eta_t &= \operatorname{clip}\!\Big(\frac{\alpha \sqrt{1 - \beta_2^t}}{(1 - \beta_1^t)(\sqrt{v_t} + \epsilon)},
                 \ \eta_l(t),\ \eta_u(t)\Big), \qquad w_t = w_{t-1} - \eta_t \odot m_t \\
        \eta_l(t) &= \alpha^* \big(1 - \tfrac{1}{\gamma t + 1}\big), \qquad
        \eta_u(t) = \alpha^* \big(1 + \tfrac{1}{\gamma t}\big), \qquad
        \alpha^* = \text{final\_lr} \cdot \alpha_{\text{now}} / \alpha_{\text{initial}}

    Where this follows the authors' code rather than the paper's Algorithm 2:

    * epsilon is added to :math:`\sqrt{v_t}` (the paper has none) and the step carries both of
      Adam's bias corrections;
    * the bounds scale with the learning-rate schedule: ``final_lr`` is multiplied by the
      group's current learning rate over its initial one (the code's workaround, since a
      scheduler cannot reach ``final_lr``). So alpha sets the early steps, ``final_lr`` where
      the bounds converge;
    * ``weight_decay`` is L2 regularization added to the gradient;
    * ``amsbound=True`` (AMSBound) uses the running maximum of :math:`v_t`.

    Defaults are the package's: ``lr=1e-3``, ``final_lr=0.1``, ``gamma=1e-3``, ``eps=1e-8``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        final_lr: float = 0.1,
        gamma: float = 1e-3,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        amsbound: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        if not (isinstance(final_lr, int | float) and final_lr >= 0.0):
            raise ValueError(f"Invalid final learning rate: {final_lr}")
        if not (isinstance(gamma, int | float) and 0.0 <= gamma < 1.0):
            raise ValueError(f"Invalid gamma parameter: {gamma}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "final_lr": final_lr,
            "gamma": gamma,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsbound": amsbound,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            group.setdefault("initial_lr_bound", group["lr"])  # the code's base_lrs

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsbound"] else ())
            # exp_avg: m_t, exp_avg_sq: v_t, max_exp_avg_sq: max_s v_s (AMSBound)
            for p, grad, state in params_with_grads(self, group, buffers):
                state["step"] += 1
                t = state["step"]
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if group["amsbound"]:
                    torch.max(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                    denom = state["max_exp_avg_sq"].sqrt().add_(group["eps"])
                else:
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"] * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                final_lr = group["final_lr"] * group["lr"] / group["initial_lr_bound"]
                lower = final_lr * (1 - 1 / (group["gamma"] * t + 1))
                upper = final_lr * (1 + 1 / (group["gamma"] * t))
                update = torch.full_like(denom, step_size).div_(denom).clamp_(lower, upper).mul_(exp_avg)
                p.sub_(update)
        return loss


class AMSBound(AdaBound):
    """AdaBound on the running maximum of the second moment (``AdaBound(amsbound=True)``)."""

    def __init__(self, params: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(params, **{**kwargs, "amsbound": True})
