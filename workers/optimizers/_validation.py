"""Hyperparameter checks shared by the hand-written optimizers (messages as torch.optim's)."""

from __future__ import annotations

import math


def check_hyperparameters(*, lr: float, eps: float, betas: tuple[float, float], weight_decay: float) -> None:
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr >= 0.0):
        raise ValueError(f"Invalid learning rate: {lr}")
    if not (isinstance(eps, int | float) and math.isfinite(eps) and eps >= 0.0):
        raise ValueError(f"Invalid epsilon value: {eps}")
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas}; expected (beta1, beta2)")
    for index, beta in enumerate(betas):
        if not (isinstance(beta, int | float) and 0.0 <= beta < 1.0):
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
    if not (isinstance(weight_decay, int | float) and math.isfinite(weight_decay) and weight_decay >= 0.0):
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
