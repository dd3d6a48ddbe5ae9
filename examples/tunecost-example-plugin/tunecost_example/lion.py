"""Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023), as lion-pytorch.

Paper: https://arxiv.org/abs/2302.06675 -- checked in float64 against ``lion_pytorch.Lion``
(the plugin's test). Any ``torch.optim.Optimizer`` subclass can be a tunecost plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer


class Lion(Optimizer):
    r"""
    .. math::
        c_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        w_t = w_{t-1}(1 - \alpha\lambda) - \alpha \operatorname{sign}(c_t), \quad
        m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not all(0.0 <= beta <= 1.0 for beta in betas):
            raise ValueError(f"Invalid betas: {betas}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)  # m_t
                exp_avg = state["exp_avg"]
                p.mul_(1 - lr * wd)
                update = exp_avg.clone().mul_(beta1).add_(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-lr)
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss
