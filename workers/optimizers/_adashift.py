"""AdaShift (Zhou, Zhang, Song, Xu, Cao, Zhang & Yu, "AdaShift: Decorrelation and Convergence
of Adaptive Learning Rate Methods", ICLR 2019), from the paper's Algorithm 3, checked against
``pytorch-optimizer``'s ``AdaShift`` (tests/workers/parity.py). Hand-written: the authors
published no maintained package, and pytorch-optimizer's class ignores ``weight_decay``.

Paper: https://arxiv.org/abs/1810.00143
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._common import check_hyperparameters, evaluate_closure, params_with_grads


class AdaShift(Optimizer):
    r"""Adam whose second moment is taken from the gradient ``n`` steps back (temporal shift),
    reduced over each block (spatial operation), so it is independent of the step's gradient.

    The paper's Algorithm 3, for each parameter tensor (one block):

    .. math::
        m_t &= \frac{\sum_{i=0}^{n-1} \beta_1^i g_{t-i}}{\sum_{i=0}^{n-1} \beta_1^i}, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, \phi\big(g_{t-n}^2\big) \\
        w_t &= w_{t-1} - \alpha\, \frac{m_t}{\sqrt{v_t / (1 - \beta_2^{\,t-n})} + \epsilon}

    The first ``n`` steps only fill the window: the weights do not move. :math:`m_t` is updated
    by the recursion :math:`m_t = \beta_1 (m_{t-1} - \beta_1^{n-1} g_{t-n} / S) + g_t / S`,
    :math:`S = \sum_i \beta_1^i`, as pytorch-optimizer writes it (the same sum, fewer
    operations; during the first ``n`` steps the partial sums build up the same way).

    Where this departs from the paper's pseudo-code (each as pytorch-optimizer does, so the two
    agree to rounding):

    * **epsilon** is added to :math:`\sqrt{v_t}` (the paper has none; tunecost tunes it as
      Adam's), and :math:`v_t` carries Adam's **bias correction** :math:`1 - \beta_2^{t-n}`
      (the paper's :math:`v_0 = 0` without it makes the first steps about
      :math:`1/\sqrt{1-\beta_2}` times larger). ``bias_correction=False`` gives the paper's
      :math:`v_t`.
    * the spatial operation :math:`\phi` is the **maximum over the whole parameter tensor**
      (``reduce="max"``): the paper leaves the block to the user; ``reduce="none"`` applies no
      spatial operation (the paper's "temporal shift only" variant).
    * ``weight_decay`` is L2 regularization added to the gradient (the paper has none;
      pytorch-optimizer accepts and ignores it).

    Defaults are pytorch-optimizer's: ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``keep_num=10``
    (the paper's n), ``eps=1e-10``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        keep_num: int = 10,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        *,
        reduce: Literal["max", "none"] = "max",
        bias_correction: bool = True,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        if not (isinstance(keep_num, int) and keep_num >= 1):
            raise ValueError(f"Invalid keep_num (the window n): {keep_num}")
        if reduce not in ("max", "none"):
            raise ValueError(f"Invalid reduce: {reduce!r}; use 'max' or 'none'")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "keep_num": keep_num,
            "eps": eps,
            "weight_decay": weight_decay,
            "reduce": reduce,
            "bias_correction": bias_correction,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            n = group["keep_num"]
            total = sum(beta1**i for i in range(n))  # S
            first_weight, last_weight = beta1 ** (n - 1) / total, 1.0 / total
            # exp_avg: m_t, exp_avg_sq: v_t; window: the last n gradients, a ring buffer
            for p, grad, state in params_with_grads(self, group, ("exp_avg", "exp_avg_sq")):
                if "window" not in state:
                    state["window"] = torch.zeros((n, *p.shape), dtype=p.dtype, device=p.device)
                state["step"] += 1
                t = state["step"]
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                slot = (t - 1) % n
                exp_avg = state["exp_avg"]
                if t <= n:  # filling the window: m builds up, the weights stay
                    exp_avg.mul_(beta1).add_(grad, alpha=last_weight)
                    state["window"][slot].copy_(grad)
                    continue
                shifted = state["window"][slot].clone()  # g_{t-n}
                state["window"][slot].copy_(grad)
                exp_avg.sub_(shifted, alpha=first_weight).mul_(beta1).add_(grad, alpha=last_weight)
                squared = shifted.square()
                reduced = squared.max() if group["reduce"] == "max" else squared
                state["exp_avg_sq"].lerp_(reduced.expand_as(squared), 1.0 - beta2)
                correction = 1.0 - beta2 ** (t - n) if group["bias_correction"] else 1.0
                denom = state["exp_avg_sq"].div(correction).sqrt_().add_(group["eps"])
                p.add_(exp_avg.div(denom), alpha=-group["lr"])
        return loss


__all__ = ["AdaShift"]
