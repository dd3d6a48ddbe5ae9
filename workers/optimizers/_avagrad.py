"""AvaGrad and AvaGradW (Savarese et al., "Domain-Independent Dominance of Adaptive Methods", CVPR 2021).

Paper: https://arxiv.org/abs/1912.01823 -- reference code: github.com/lolemacs/avagrad (optimizers.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._batched import BatchedOptimizer, column
from tunecost.workers.optimizers._common import check_hyperparameters, evaluate_closure, params_with_grads


class AvaGrad(Optimizer):
    r"""AvaGrad: Adam with a delayed, normalized adaptive step size.

    For each parameter group, with :math:`d` its number of scalars and
    :math:`\hat v_{t-1} = v_{t-1} / (1 - \beta_2^{t-1})`:

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        \eta_t &= 1 / (\sqrt{\hat v_{t-1}} + \epsilon) \\
        w_t &= w_{t-1} - \gamma_{t-1} \, \frac{\alpha}{1 - \beta_1^t} \, \eta_t \odot m_t
              \qquad (t > 1;\ \text{no update at } t = 1) \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \gamma_t &= 1 / \lVert \tilde\eta_t / \sqrt{d} \rVert_2, \quad
              \tilde\eta_t = 1 / (\sqrt{v_{t-1} / (1 - \beta_2^t)} + \epsilon)

    Where this follows the authors' code rather than the paper's pseudo-code
    (Algorithm 2), because that code produced the published numbers:

    * epsilon is added to the bias-corrected :math:`\sqrt{\hat v_{t-1}}`, outside the root;
    * the first step only fills the moments: :math:`v_0 = 0` carries no information;
    * :math:`\gamma_t` is computed at the end of step t from :math:`v_{t-1}` -- the second
      moment *before* step t's update -- divided by step t's bias correction
      :math:`1 - \beta_2^t`. It is therefore one step older than the denominator it
      scales at step t+1 (which uses :math:`v_t`). A quirk, kept on purpose;
    * the step size carries Adam's first-moment bias correction :math:`1/(1-\beta_1^t)`;
    * ``weight_decay`` is L2 regularization added to the gradient (AvaGradW decouples it).

    Defaults are the reference code's: ``lr=0.1``, ``eps=0.1``, ``betas=(0.9, 0.999)``.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.1,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 0.1,
        weight_decay: float = 0.0,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "gamma": None}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            inverse_square_sum: torch.Tensor | float = 0.0  # sum over the group of eta~_i^2
            count = 0
            # exp_avg: m_t, exp_avg_sq: v_t
            for p, grad, state in params_with_grads(self, group, ("exp_avg", "exp_avg_sq")):
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                t = state["step"]

                if weight_decay != 0 and not self.decoupled_weight_decay:
                    grad = grad.add(p, alpha=weight_decay)

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                prev_root = exp_avg_sq.sqrt()  # sqrt(v_{t-1})

                if t > 1:
                    denom = prev_root / math.sqrt(1 - beta2 ** (t - 1)) + eps  # 1 / eta_t
                    if weight_decay != 0 and self.decoupled_weight_decay:
                        p.mul_(1 - lr * weight_decay)
                    p.addcdiv_(exp_avg, denom, value=-group["gamma"] * lr / (1 - beta1**t))

                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

                # gamma for the next step, from v_{t-1} with step t's bias correction (see docstring)
                lagged_denom = prev_root.div_(math.sqrt(1 - beta2**t)).add_(eps)
                inverse_square_sum = inverse_square_sum + lagged_denom.pow(-2).sum()
                count += lagged_denom.numel()

            if count:
                group["gamma"] = 1.0 / torch.sqrt(inverse_square_sum / count)
        return loss


class AvaGradW(AvaGrad):
    r"""AvaGrad with decoupled weight decay: :math:`w \leftarrow w (1 - \alpha \lambda)` before each update.

    As in the reference code, the decay uses :math:`\alpha` (not :math:`\gamma \alpha`) and is
    applied from step 2 on, together with the first parameter update.
    """

    decoupled_weight_decay = True


class BatchedAvaGrad(BatchedOptimizer):
    """:class:`AvaGrad`'s step for K stacked configs at once (:mod:`tunecost.workers.optimizers._batched`).

    The same maths; gamma is a tensor of K values, each the norm over its own config's slices
    (a plain group per config normalizes over that config's tensors alone).
    """

    per_config = ("alpha", "eps", "gamma")
    buffers = ("exp_avg", "exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, alpha, eps, {"betas": tuple(betas), "weight_decay": weight_decay, "gamma": None}
        )
        first = self.param_groups[0]["params"][0]
        # per config: the sum over its tensors of eta~_i^2, gathered block by block
        self._sum = torch.zeros(first.shape[0], dtype=first.dtype, device=first.device)

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, weight_decay = (
            column(group["lr"] * group["alpha"], p),
            column(group["eps"], p),
            group["weight_decay"],
        )
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if weight_decay != 0 and not self.decoupled_weight_decay:
            grad = grad.add(p, alpha=weight_decay)
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        prev_root = exp_avg_sq.sqrt()  # sqrt(v_{t-1})
        # the plain step's operations in its order, into as few new tensors as they allow (a
        # block's tensors then stay in cache: 12.2 ms a step against 14.0 for 19 configs of
        # mnist5k-mlp, equal to the last bit in float64)
        if t > 1:
            denom = prev_root.div(math.sqrt(1 - beta2 ** (t - 1))).add_(eps)  # 1 / eta_t
            if weight_decay != 0 and self.decoupled_weight_decay:
                p.mul_(1 - lr * weight_decay)
            step = torch.div(exp_avg, denom, out=denom)
            p.sub_(step.mul_(column(group["gamma"], p) * lr / (1 - beta1**t)))
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        lagged_denom = prev_root.div_(math.sqrt(1 - beta2**t)).add_(eps)
        self._sum[group["configs"]] += lagged_denom.pow_(-2).flatten(1).sum(1)

    def finish(self, group: dict[str, Any]) -> None:
        count = sum(p[0].numel() for p in group["params"] if p.grad is not None)  # scalars per config
        if count:
            group["gamma"] = 1.0 / torch.sqrt(self._sum / count)
        self._sum.zero_()


class BatchedAvaGradW(BatchedAvaGrad):
    """:class:`AvaGradW`'s step for K stacked configs at once."""

    decoupled_weight_decay = True
