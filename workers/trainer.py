"""The one-config trainer: (task, optimizer, alpha, epsilon, seed, recipe) -> result.

Deterministic on CPU for a given seed (one seeding block, a seeded generator for
the data order). A trial whose loss or weights become non-finite stops at once
and is *diverged*: its error is the task's chance level (docs/ARCHITECTURE.md, "Definitions").
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from workers.registry import TASKS, recipe_for


@dataclass
class TrialResult:
    error: float  # validation error, percent
    val_loss: float | None
    train_loss: float | None
    diverged: bool
    seconds: float
    epochs_run: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _synthetic_bowl(alpha: float, epsilon: float, recipe: dict[str, Any]) -> TrialResult:
    """Closed-form error surface: a valley in which the best alpha grows with epsilon."""
    start = time.perf_counter()
    if recipe["sleep_s"]:
        time.sleep(recipe["sleep_s"])
    if recipe["fail_alpha_above"] is not None and alpha > recipe["fail_alpha_above"]:
        raise RuntimeError(f"injected failure at alpha={alpha:g}")
    if alpha > 100.0:
        return TrialResult(TASKS["synthetic-bowl"].chance_error, None, None, True, 0.0, 0)
    la, le = math.log10(alpha), math.log10(epsilon)
    la0, le0 = math.log10(recipe["optimum_alpha"]), math.log10(recipe["optimum_epsilon"])
    # For large epsilon an Adam-like method behaves like SGD with lr alpha/epsilon, so the
    # best alpha scales with epsilon there: a coupled valley.
    coupled = max(le - le0, 0.0)
    error = 2.0 + 1.5 * (la - la0 - coupled) ** 2 + 0.2 * (le - le0) ** 2
    error = min(error, TASKS["synthetic-bowl"].chance_error)
    return TrialResult(error, error / 100.0, error / 100.0, False, time.perf_counter() - start, 0)


def train_one(
    task: str,
    optimizer: str,
    alpha: float,
    epsilon: float,
    *,
    seed: int = 0,
    recipe: dict[str, Any] | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    dtype: Any = None,
) -> TrialResult:
    """Train ``task`` with ``optimizer`` at (alpha, epsilon); return validation error in %.

    ``dtype`` (default float32) is what the parity tests set to ``torch.float64``.
    """
    info = TASKS[task]
    full_recipe = recipe_for(task, recipe)
    if info.analytic:
        return _synthetic_bowl(alpha, epsilon, full_recipe)

    import torch
    from torch.nn import functional as F

    from workers.optimizers import make_optimizer
    from workers.tasks import task_module

    start = time.perf_counter()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    module = task_module(task)
    data = module.load_data(full_recipe, data_dir)

    # --- seeding: everything random below draws from these two ---
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)

    dtype = dtype or torch.float32
    model = module.build_model(full_recipe).to(device=device, dtype=dtype)
    opt = make_optimizer(
        optimizer, model.parameters(), alpha, epsilon, weight_decay=full_recipe["weight_decay"]
    )
    epochs, batch_size = full_recipe["epochs"], full_recipe["batch_size"]
    if full_recipe["schedule"] == "step":
        milestones = sorted({max(1, round(epochs * f)) for f in full_recipe["milestones"]})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=full_recipe["gamma"])
    elif full_recipe["schedule"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    elif full_recipe["schedule"] in (None, "constant"):
        sched = None
    else:
        raise ValueError(f"Unknown schedule: {full_recipe['schedule']!r}; use step, cosine or constant")

    augment = getattr(module, "augment", None)
    x_train, y_train = data.x_train.to(device=device, dtype=dtype), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device=device, dtype=dtype), data.y_val.to(device)
    n = x_train.shape[0]
    train_loss = math.nan
    diverged = False
    epochs_run = 0
    for _epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=order).to(device)
        total, count = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            inputs = x_train[idx] if augment is None else augment(x_train[idx], order)
            loss = F.cross_entropy(model(inputs), y_train[idx])
            if not torch.isfinite(loss):
                diverged = True
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
            count += idx.numel()
        epochs_run += 1
        if diverged:
            break
        train_loss = total / max(count, 1)
        if sched is not None:
            sched.step()
    if not diverged:
        diverged = not all(bool(torch.isfinite(p).all()) for p in model.parameters())

    if diverged:
        return TrialResult(info.chance_error, None, None, True, time.perf_counter() - start, epochs_run)

    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x_val[i : i + 1000]) for i in range(0, x_val.shape[0], 1000)])
        val_loss = F.cross_entropy(logits, y_val).item()
        error = 100.0 * (logits.argmax(1) != y_val).double().mean().item()
    if not math.isfinite(val_loss):
        return TrialResult(info.chance_error, None, None, True, time.perf_counter() - start, epochs_run)
    return TrialResult(error, val_loss, train_loss, False, time.perf_counter() - start, epochs_run)
