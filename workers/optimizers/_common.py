"""What the hand-written optimizers share: hyperparameter checks (messages as torch.optim's),
the closure convention, lazy per-parameter state, RAdam's rectification."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.optim import Optimizer


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


def evaluate_closure(closure: Callable[[], float] | None) -> float | None:
    """torch.optim's closure convention: re-evaluate the loss with gradients enabled."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def params_with_grads(
    optimizer: Optimizer, group: dict[str, Any], buffers: tuple[str, ...]
) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]:
    """(parameter, gradient, state) for each parameter of ``group`` that has a gradient.

    State is created lazily: ``step`` = 0 and a zero tensor per name in ``buffers``.
    """
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(f"{type(optimizer).__name__} does not support sparse gradients")
        state = optimizer.state[p]
        if not state:
            state["step"] = 0
            for name in buffers:
                state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
        yield p, p.grad, state


def rectification(beta2: float, t: int) -> float | None:
    """RAdam's variance rectification as adabelief-pytorch writes it (step size factor incl.
    sqrt(1 - beta2^t)); None while the variance is intractable (rho_t < 5)."""
    beta2_t = beta2**t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2_t / (1 - beta2_t)
    if rho_t < 5:
        return None
    return math.sqrt(
        (1 - beta2_t) * (rho_t - 4) / (rho_inf - 4) * (rho_t - 2) / rho_t * rho_inf / (rho_inf - 2)
    )
