"""Lookahead (Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step back",
NeurIPS 2019), around any optimizer.

Paper: https://arxiv.org/abs/1907.08610 -- checked against pytorch-optimizer's ``Lookahead``
(``pullback_momentum="none"``) in float64 (``tests/workers/parity.py``). Hand-written so that
the inner optimizer stays a plain ``torch.optim.Optimizer`` for its learning-rate scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class Lookahead:
    r"""Every ``k`` steps of the inner optimizer, per parameter group:

    .. math::
        \phi \leftarrow \phi + \alpha_s (\theta - \phi), \qquad \theta \leftarrow \phi

    with :math:`\phi` the slow weights (initialized to the starting weights) and
    :math:`\theta` the fast ones. Counts steps per group, as pytorch-optimizer does, so a
    fused sweep's groups (one per model) behave as separate runs.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"Invalid Lookahead k: {k}")
        if not (0.0 < alpha <= 1.0):
            raise ValueError(f"Invalid Lookahead alpha: {alpha}")
        self.optimizer, self.k, self.alpha = optimizer, k, alpha
        self.counters = [0] * len(optimizer.param_groups)
        self.slow = [[p.detach().clone() for p in group["params"]] for group in optimizer.param_groups]

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = self.optimizer.step(closure)
        for index, group in enumerate(self.optimizer.param_groups):
            self.counters[index] += 1
            if self.counters[index] < self.k:
                continue
            self.counters[index] = 0
            for fast, slow in zip(group["params"], self.slow[index], strict=True):
                slow.add_(fast - slow, alpha=self.alpha)
                fast.copy_(slow)
        return loss
