"""The fused sweep trainer: many (alpha, epsilon) configs of one task trained at once (hand-written).

Every config of a sweep shares the seed, hence the initial weights and the data order;
only the optimizer's (alpha, epsilon) differ. So K configs are K copies of one model,
stacked along a leading dimension: ``torch.func.functional_call`` + ``vmap`` run the K
forward passes as batched matrix products, one backward pass gives the K gradients
(the models are independent, so the gradient of the summed losses is each model's own),
and the optimizer maths runs once on the stacked tensors with per-model alpha and
epsilon tensors (AvaGrad's gamma per model). A config that diverges is frozen and
reported at chance level; the others go on.

The maths of each fused optimizer is written to match its one-config counterpart
(torch.optim's or :mod:`workers.optimizers`'); ``tests/workers/test_fused.py`` checks
fused against :func:`workers.trainer.train_one` in float64 to 1e-8.

Models with buffers (BatchNorm: the WRN) are not fused; :func:`can_fuse` says so and
the sweep runs them one config at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.func import functional_call, vmap
from torch.nn import functional as F

from workers.optimizers._common import rectification
from workers.registry import TASKS, recipe_for
from workers.trainer import TrialResult

Tensors = dict[str, torch.Tensor]


def _expand(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-model scalars (K,) shaped to broadcast against a stacked tensor (K, ...)."""
    return v.view(-1, *([1] * (like.dim() - 1)))


class FusedOptimizer:
    """One optimizer for K stacked models, with per-model learning rate and epsilon."""

    def __init__(self, params: Tensors, alpha: torch.Tensor, eps: torch.Tensor, weight_decay: float) -> None:
        self.params, self.alpha, self.eps, self.wd = params, alpha, eps, weight_decay
        self.t = 0
        self.state: dict[str, Tensors] = {}

    def buffer(self, name: str, key: str) -> torch.Tensor:
        bucket = self.state.setdefault(key, {})
        if name not in bucket:
            bucket[name] = torch.zeros_like(self.params[name])
        return bucket[name]

    def step(self, grads: Tensors, lr_factor: float) -> None:
        """One step of every model, in place. A diverged model's slice may fill with inf or
        NaN; the models are independent, so that never reaches the others."""
        self.t += 1
        with torch.no_grad():
            self.update(grads, self.alpha * lr_factor)

    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        raise NotImplementedError


class _SGD(FusedOptimizer):
    momentum = 0.9

    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        for name, p in self.params.items():
            g = grads[name] + self.wd * p if self.wd else grads[name]
            buf = self.buffer(name, "momentum")
            if self.t == 1:
                buf.copy_(g)
            else:
                buf.mul_(self.momentum).add_(g)
            p.sub_(buf * _expand(lr, p))


class _Adam(FusedOptimizer):
    betas = (0.9, 0.999)
    amsgrad = False
    decoupled = False

    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        b1, b2 = self.betas
        bc1, bc2_sqrt = 1 - b1**self.t, math.sqrt(1 - b2**self.t)
        for name, p in self.params.items():
            g = grads[name]
            if self.wd and self.decoupled:
                p.mul_(1 - _expand(lr, p) * self.wd)
            elif self.wd:
                g = g + self.wd * p
            m, v = self.buffer(name, "exp_avg"), self.buffer(name, "exp_avg_sq")
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            if self.amsgrad:
                v_max = self.buffer(name, "max_exp_avg_sq")
                torch.maximum(v_max, v, out=v_max)
                v = v_max
            denom = v.sqrt().div_(bc2_sqrt).add_(_expand(self.eps, p))
            p.sub_(m.div(denom).mul_(_expand(lr / bc1, p)))


class _AMSGrad(_Adam):
    amsgrad = True


class _AdamW(_Adam):
    decoupled = True


class _RAdam(_Adam):
    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * self.t * b2**self.t / bc2
        for name, p in self.params.items():
            g = grads[name] + self.wd * p if self.wd else grads[name]
            m, v = self.buffer(name, "exp_avg"), self.buffer(name, "exp_avg_sq")
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            bias_corrected = m / bc1
            if rho_t > 5.0:
                rect = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                adaptive = math.sqrt(bc2) / (v.sqrt() + _expand(self.eps, p))
                p.sub_(bias_corrected.mul_(adaptive).mul_(_expand(lr * rect, p)))
            else:
                p.sub_(bias_corrected.mul_(_expand(lr, p)))


class _DelayedAdam(_Adam):
    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        b1, b2 = self.betas
        for name, p in self.params.items():
            g = grads[name] + self.wd * p if self.wd else grads[name]
            m, v = self.buffer(name, "exp_avg"), self.buffer(name, "exp_avg_sq")
            m.mul_(b1).add_(g, alpha=1 - b1)
            if self.t > 1:
                denom = v.sqrt().div_(math.sqrt(1 - b2 ** (self.t - 1))).add_(_expand(self.eps, p))
                p.sub_(m.div(denom).mul_(_expand(lr / (1 - b1**self.t), p)))
            v.mul_(b2).addcmul_(g, g, value=1 - b2)


class _AvaGrad(_Adam):
    decoupled = False

    def __init__(self, params: Tensors, alpha: torch.Tensor, eps: torch.Tensor, weight_decay: float) -> None:
        super().__init__(params, alpha, eps, weight_decay)
        self.gamma: torch.Tensor | None = None

    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        b1, b2 = self.betas
        k = next(iter(self.params.values())).shape[0]
        inverse_square_sum = torch.zeros(k, dtype=lr.dtype, device=lr.device)
        count = 0
        for name, p in self.params.items():
            g = grads[name]
            if self.wd and not self.decoupled:
                g = g + self.wd * p
            m, v = self.buffer(name, "exp_avg"), self.buffer(name, "exp_avg_sq")
            m.mul_(b1).add_(g, alpha=1 - b1)
            prev_root = v.sqrt()
            if self.t > 1 and self.gamma is not None:
                denom = prev_root / math.sqrt(1 - b2 ** (self.t - 1)) + _expand(self.eps, p)
                if self.wd and self.decoupled:
                    p.mul_(1 - _expand(lr, p) * self.wd)
                p.sub_(m.div(denom).mul_(_expand(self.gamma * lr / (1 - b1**self.t), p)))
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            lagged = prev_root.div_(math.sqrt(1 - b2**self.t)).add_(
                _expand(self.eps, p)
            )  # see AvaGrad's docstring
            inverse_square_sum += lagged.pow_(-2).flatten(1).sum(1)
            count += lagged[0].numel()
        self.gamma = 1.0 / torch.sqrt(inverse_square_sum / count)


class _AvaGradW(_AvaGrad):
    decoupled = True


class _AdaBelief(_Adam):
    """adabelief-pytorch 0.2.x defaults: decoupled decay, rectification, degenerated to SGD."""

    def update(self, grads: Tensors, lr: torch.Tensor) -> None:
        b1, b2 = self.betas
        bc1 = 1 - b1**self.t
        rect = rectification(b2, self.t)
        for name, p in self.params.items():
            if self.wd:
                p.mul_(1.0 - _expand(lr, p) * self.wd)
            g = grads[name]
            m, s = self.buffer(name, "exp_avg"), self.buffer(name, "exp_avg_var")
            m.mul_(b1).add_(g, alpha=1 - b1)
            residual = g - m
            s.mul_(b2).addcmul_(residual, residual, value=1 - b2)
            s.add_(_expand(self.eps, p))
            if rect is not None:
                p.sub_(m.div(s.sqrt().add_(_expand(self.eps, p))).mul_(_expand(lr * rect / bc1, p)))
            else:
                p.sub_(m * _expand(lr / bc1, p))


FUSED: dict[str, Callable[[Tensors, torch.Tensor, torch.Tensor, float], FusedOptimizer]] = {
    "sgd": _SGD,
    "adam": _Adam,
    "amsgrad": _AMSGrad,
    "adamw": _AdamW,
    "radam": _RAdam,
    "delayed_adam": _DelayedAdam,
    "avagrad": _AvaGrad,
    "avagradw": _AvaGradW,
    "adabelief": _AdaBelief,
}


def lr_factor(recipe: dict[str, Any], epoch: int) -> float:
    """The learning-rate multiplier of ``epoch`` (0-based), as the one-config trainer's scheduler."""
    epochs = recipe["epochs"]
    if recipe["schedule"] == "step":
        milestones = sorted({max(1, round(epochs * f)) for f in recipe["milestones"]})
        return recipe["gamma"] ** sum(epoch >= m for m in milestones)
    if recipe["schedule"] == "cosine":
        return (1 + math.cos(math.pi * epoch / epochs)) / 2
    return 1.0


def can_fuse(task: str, optimizer: str) -> bool:
    """Whether (task, optimizer) has a fused path: a trained task, a fused optimizer, no buffers."""
    info = TASKS[task]
    if info.analytic or optimizer not in FUSED:
        return False
    from workers.tasks import task_module

    model = task_module(task).build_model(recipe_for(task))
    return not any(True for _ in model.buffers()) and getattr(task_module(task), "augment", None) is None


CPU_FLOATS_PER_BATCH = 2_000_000  # stacked parameters per fused batch on a CPU: keeps the optimizer's
# memory-bound updates in cache (measured: MNIST-5k MLP 0.23 s/config at 16 models, 0.33 at 64)


def train_fused(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    *,
    seed: int = 0,
    recipe: dict[str, Any] | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    dtype: torch.dtype = torch.float32,
    width: int | None = None,
) -> list[TrialResult]:
    """Train every (alpha, epsilon) of ``configs``; one TrialResult per config, in order.

    ``width`` configs are stacked at a time (each batch from the same seed, so results do
    not depend on it); default: all of them on a GPU, and on a CPU as many as keep about
    two million stacked parameters.
    """
    from workers.tasks import task_module

    if not can_fuse(task, optimizer):
        raise ValueError(f"no fused path for task {task!r} with optimizer {optimizer!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if width is None:
        if device.startswith("cuda"):
            width = len(configs)
        else:
            n_params = sum(
                p.numel() for p in task_module(task).build_model(recipe_for(task, recipe)).parameters()
            )
            width = max(1, CPU_FLOATS_PER_BATCH // n_params)
    results: list[TrialResult] = []
    for lo in range(0, len(configs), max(1, width)):
        results += _train_fused_batch(
            task, optimizer, configs[lo : lo + width], seed, recipe, data_dir, device, dtype
        )
    return results


def _train_fused_batch(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    seed: int,
    recipe: dict[str, Any] | None,
    data_dir: str | None,
    device: str,
    dtype: torch.dtype,
) -> list[TrialResult]:
    from workers.tasks import task_module

    start = time.perf_counter()
    info = TASKS[task]
    full_recipe = recipe_for(task, recipe)
    module = task_module(task)
    data = module.load_data(full_recipe, data_dir)

    # --- seeding: as train_one, so every config starts from its weights and data order ---
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    base = module.build_model(full_recipe).to(device=device, dtype=dtype)

    k = len(configs)
    params = {
        name: p.detach().unsqueeze(0).repeat(k, *([1] * p.dim())).clone().requires_grad_(True)
        for name, p in base.named_parameters()
    }
    alpha = torch.tensor([a for a, _ in configs], dtype=dtype, device=device)
    eps = torch.tensor([e for _, e in configs], dtype=dtype, device=device)
    opt = FUSED[optimizer](params, alpha, eps, full_recipe["weight_decay"])

    def forward(p: Tensors, x: torch.Tensor) -> torch.Tensor:
        return functional_call(base, p, (x,))

    batched = vmap(forward, in_dims=(0, None))
    x_train, y_train = data.x_train.to(device=device, dtype=dtype), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device=device, dtype=dtype), data.y_val.to(device)
    n, batch_size = x_train.shape[0], full_recipe["batch_size"]
    diverged = torch.zeros(k, dtype=torch.bool, device=device)
    epochs_run = torch.zeros(k, dtype=torch.long)
    train_loss = torch.full((k,), math.nan, dtype=torch.float64)

    for epoch in range(full_recipe["epochs"]):
        factor = lr_factor(full_recipe, epoch)
        perm = torch.randperm(n, generator=order).to(device)
        total = torch.zeros(k, dtype=torch.float64, device=device)
        count = 0
        epochs_run += (~diverged).long().cpu()
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            logits = batched(params, x_train[idx])  # (K, B, C)
            losses = (
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), y_train[idx].repeat(k), reduction="none"
                )
                .view(k, -1)
                .mean(1)
            )
            diverged |= ~torch.isfinite(losses)
            active = ~diverged
            if not bool(active.any()):
                break
            grads = torch.autograd.grad(
                torch.where(active, losses, torch.zeros_like(losses)).sum(), list(params.values())
            )
            opt.step(dict(zip(params, grads, strict=True)), factor)
            total += torch.where(active, losses.detach(), torch.zeros_like(losses)).double() * idx.numel()
            count += idx.numel()
        train_loss = torch.where(diverged.cpu(), train_loss, (total / max(count, 1)).cpu())

    with torch.no_grad():
        for p in params.values():
            diverged |= ~torch.isfinite(p.flatten(1)).all(1)
        logits = torch.cat(
            [batched(params, x_val[i : i + 1000]) for i in range(0, x_val.shape[0], 1000)], dim=1
        )
        val_losses = (
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_val.repeat(k), reduction="none")
            .view(k, -1)
            .mean(1)
        )
        errors = 100.0 * (logits.argmax(-1) != y_val).double().mean(1)
    seconds = (time.perf_counter() - start) / k  # amortized: the configs trained together
    results = []
    for j in range(k):
        if bool(diverged[j]) or not math.isfinite(float(val_losses[j])):
            results.append(TrialResult(info.chance_error, None, None, True, seconds, int(epochs_run[j])))
        else:
            results.append(
                TrialResult(
                    float(errors[j]),
                    float(val_losses[j]),
                    float(train_loss[j]),
                    False,
                    seconds,
                    int(epochs_run[j]),
                )
            )
    return results
