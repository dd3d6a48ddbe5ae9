"""The paper's synthetic problem (Savarese et al. 2021, Eq. 11; after Reddi et al. 2018).

    f_s(w) = 999 w^2 / 2   with probability 1/500
             -w            otherwise,            w in [0, 1] (projected after each step)

The expected objective F(w) = (999 w^2 / 2 - 499 w) / 500 has its minimum at w* = 499/999
with gradient F'(w) = (999 w - 499) / 500. The rare large gradient inflates Adam's
v_t exactly when it matters, so Adam's steps drift to w = 1; delaying the second
moment (Delayed Adam, AvaGrad) removes the correlation and they converge (Figure 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

W_STAR = 499 / 999


@dataclass
class Trajectory:
    optimizer: str
    w: np.ndarray  # w_t after each step
    grad_sq: np.ndarray  # F'(w_t)^2, the squared gradient of the expected objective

    @property
    def final_mean_grad_sq(self) -> float:
        """Mean of F'(w_t)^2 over the last 10% of steps."""
        tail = max(1, len(self.grad_sq) // 10)
        return float(self.grad_sq[-tail:].mean())


def run_reddi(
    optimizer: str, *, steps: int = 200_000, lr: float = 1e-2, seed: int = 0, w0: float = 1.0
) -> Trajectory:
    """Run ``optimizer`` (a registry name) with beta1 = 0, beta2 = 0.99, eps = 1e-8, as in the paper.

    The step size decays as lr / sqrt(t), as in Reddi et al.'s analysis.
    """
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import make_optimizer

    rare = np.random.default_rng(seed).random(steps) < 1 / 500
    w = torch.nn.Parameter(torch.tensor([w0], dtype=torch.float64))
    opt = make_optimizer(optimizer, [([w], lr, 1e-8)], betas=(0.0, 0.99))
    ws = np.empty(steps)
    big = torch.tensor([999.0], dtype=torch.float64)
    minus_one = torch.tensor([-1.0], dtype=torch.float64)
    for t in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr / np.sqrt(t + 1)
        w.grad = big * w.detach() if rare[t] else minus_one.clone()
        opt.step()
        with torch.no_grad():
            w.clamp_(0.0, 1.0)
        ws[t] = w.item()
    grad_sq = ((999 * ws - 499) / 500) ** 2
    return Trajectory(optimizer, ws, grad_sq)
