"""The trainer: (task, optimizer, configs, seed, recipe) -> one result per (alpha, epsilon).

One training loop serves both paths. :func:`train_one` trains a single model the plain
way (any model: BatchNorm, augmentation); :func:`tunecost.workers.fused.train_fused` hands the same
loop K stacked copies of a model. Either way the optimizer is one instance of the
catalog's class with one parameter group per config (its own alpha and epsilon), the
learning-rate schedule is torch's own scheduler acting on every group, and Lookahead wraps
whatever optimizer it is given, so the maths of each optimizer exists exactly once.

Deterministic on CPU for a given seed (one seeding block, a seeded generator for the data
order). A model whose loss or weights become non-finite is *diverged*: it scores the
task's diverged score (a classifier's chance error; docs/ARCHITECTURE.md, "Definitions");
the other models go on. The loss and the score follow the task's metric: cross-entropy and
top-1 error in percent, or mean squared error for both (a regression task).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tunecost.workers.catalog import TASKS, recipe_for


@dataclass
class TrialResult:
    error: float  # the task's score (its metric; validation error in percent for a classifier)
    val_loss: float | None
    train_loss: float | None
    diverged: bool
    seconds: float  # training time; in a fused batch, its share (see train_models)
    epochs_run: int
    curve: list[float] = field(default_factory=list)  # the score after each epoch it trained

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
        return TrialResult(TASKS["synthetic-bowl"].failure_score, None, None, True, 0.0, 0, [])
    la, le = math.log10(alpha), math.log10(epsilon)
    la0, le0 = math.log10(recipe["optimum_alpha"]), math.log10(recipe["optimum_epsilon"])
    # For large epsilon an Adam-like method behaves like SGD with lr alpha/epsilon, so the
    # best alpha scales with epsilon there: a coupled valley.
    coupled = max(le - le0, 0.0)
    error = 2.0 + 1.5 * (la - la0 - coupled) ** 2 + 0.2 * (le - le0) ** 2
    error = min(error, TASKS["synthetic-bowl"].failure_score)
    return TrialResult(error, error / 100.0, error / 100.0, False, time.perf_counter() - start, 0, [error])


class Models(Protocol):
    """K models trained side by side: what the loop needs from them."""

    groups: list[list[Any]]  # each model's parameters, as the optimizer sees them
    tensors: list[Any]  # the stacked tensors (K, ...), as a batched optimizer sees them (fused only)

    def train(self, mode: bool = True) -> None: ...
    def logits(self, x: Any) -> Any: ...  # (K, B, outputs)
    def backward(self, losses: Any) -> None: ...  # per-model gradients into the groups' .grad
    def finite(self) -> Any: ...  # (K,) bool: every weight finite
    def weights(self, j: int) -> dict[str, Any]: ...  # model j's weights (and buffers), as views
    def load(self, j: int, weights: dict[str, Any]) -> None: ...  # set model j's weights


class SingleModel:
    """One model, trained the plain way (``loss.backward()``)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.groups = [list(model.parameters())]

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)

    def logits(self, x: Any) -> Any:
        return self.model(x).unsqueeze(0)

    def backward(self, losses: Any) -> None:
        for p in self.groups[0]:
            p.grad = None
        losses.sum().backward()

    def finite(self) -> Any:
        # torch: only where training runs, never in the API process
        import torch

        return torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all().view(1)

    def weights(self, j: int) -> dict[str, Any]:
        return self.model.state_dict()

    def load(self, j: int, weights: dict[str, Any]) -> None:
        self.model.load_state_dict(weights)


def model_losses(outputs: Any, y: Any, regression: bool) -> Any:
    """(K, B, outputs) and B targets -> each model's mean loss, (K,): mean squared error (targets
    in the model's dtype, shaped as its outputs) or cross-entropy."""
    # torch: only where training runs, never in the API process
    from torch.nn import functional as F

    if regression:
        return (outputs - y).square().flatten(1).mean(1)
    k = outputs.shape[0]
    per_example = F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.repeat(k), reduction="none")
    return per_example.view(k, -1).mean(1)


def make_schedule(opt: Any, recipe: dict[str, Any]) -> Any:
    """The recipe's learning-rate schedule as torch's scheduler (stepped once per epoch)."""
    # torch: only where training runs, never in the API process
    import torch

    # torch: only where training runs, never in the API process
    from tunecost.workers.optimizers import Lookahead

    epochs, schedule = recipe["epochs"], recipe["schedule"]
    inner = opt.optimizer if isinstance(opt, Lookahead) else opt  # schedule the optimizer it wraps
    if schedule == "step":
        milestones = sorted({max(1, round(epochs * f)) for f in recipe["milestones"]})
        return torch.optim.lr_scheduler.MultiStepLR(inner, milestones=milestones, gamma=recipe["gamma"])
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(inner, T_max=epochs)
    if schedule == "sgdr":
        restarts = recipe.get("restarts") or {"period": 10, "mult": 1}
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            inner, T_0=restarts["period"], T_mult=restarts["mult"]
        )
    if schedule in (None, "constant"):
        return None
    raise ValueError(f"Unknown schedule: {schedule!r}; use step, cosine, sgdr or constant")


def train_models(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    build: Any,
    *,
    seed: int,
    recipe: dict[str, Any],
    data_dir: str | None,
    device: str,
    dtype: Any,
    on_epoch: Callable[[int, list[float | None]], None] | None = None,
    epochs: int | None = None,
    resume: list[dict[str, Any]] | None = None,
    keep: list[dict[str, Any]] | None = None,
    path: str = "groups",
) -> list[TrialResult]:
    """The training loop. ``build(model) -> Models`` makes the K models from the seeded base model.

    ``path`` is how the optimizer updates them: ``"groups"``, one parameter group per model
    (any optimizer); ``"batched"``, the optimizer's batched step over the stacked tensors
    (:func:`tunecost.workers.build.make_batched_optimizer`; fused models only).

    ``epochs`` stops the run after that many epochs of the recipe's schedule (a rung of
    successive halving): the learning-rate schedule is still the full recipe's, so the result
    is exactly the first ``epochs`` of the full run (its curve is a prefix of the full curve).
    ``resume`` (one state per config, from ``keep`` of an earlier call stopped at the same
    epoch: :mod:`tunecost.workers.checkpoints`) continues those runs instead of starting them; ``keep``,
    a list, receives each config's state at the end.

    After every epoch each model is scored on the validation split (its learning curve, in
    :attr:`TrialResult.curve`), and ``on_epoch(epoch, scores)`` is told (1-based epoch; None
    for a model that has diverged): the live search reports them as they come. Each result's
    ``seconds`` is the run's wall time per model-epoch times the epochs that model trained
    (data loading included, spread the same way).
    """
    # torch: only where training runs, never in the API process
    import torch

    # torch: only where training runs, never in the API process
    from tunecost.workers.build import make_batched_optimizer, make_optimizer, task_module

    start = time.perf_counter()
    info = TASKS[task]
    module = task_module(task)
    data = module.load_data(recipe, data_dir)

    # --- seeding: everything random below draws from these two ---
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)

    models: Models = build(module.build_model(recipe).to(device=device, dtype=dtype))
    if path == "batched":
        opt = make_batched_optimizer(
            optimizer,
            models.tensors,
            configs,
            weight_decay=recipe["weight_decay"],
            lookahead=recipe.get("lookahead"),
        )
    elif path == "groups":
        opt = make_optimizer(
            optimizer,
            [(group, alpha, eps) for group, (alpha, eps) in zip(models.groups, configs, strict=True)],
            weight_decay=recipe["weight_decay"],
            lookahead=recipe.get("lookahead"),
        )
    else:
        raise ValueError(f"Unknown update path: {path!r}; use groups or batched")
    sched = make_schedule(opt, recipe)

    augment = getattr(module, "augment", None)
    x_train, y_train = data.x_train.to(device=device, dtype=dtype), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device=device, dtype=dtype), data.y_val.to(device)
    n, batch_size, k = x_train.shape[0], recipe["batch_size"], len(configs)
    diverged = torch.zeros(k, dtype=torch.bool, device=device)
    epochs_run = torch.zeros(k, dtype=torch.long)
    train_loss = torch.full((k,), math.nan, dtype=torch.float64)

    regression = info.metric.kind == "mse"
    if regression:  # targets in the model's dtype, shaped as its outputs
        y_train, y_val = (y.to(dtype).reshape(y.shape[0], -1) for y in (y_train, y_val))

    def evaluate() -> tuple[torch.Tensor, torch.Tensor]:
        """Each model's validation loss and score: validation MSE (no worse than a diverged
        trial) or top-1 error in percent."""
        with torch.no_grad():
            models.train(False)
            outputs = torch.cat(
                [models.logits(x_val[i : i + 1000]) for i in range(0, x_val.shape[0], 1000)], dim=1
            )
            val_losses = model_losses(outputs, y_val, regression)
            if regression:
                return val_losses, val_losses.double().clamp(max=info.failure_score)
            return val_losses, 100.0 * (outputs.argmax(-1) != y_val).double().mean(1)

    curves: list[list[float]] = [[] for _ in range(k)]
    val_losses = torch.full((k,), math.nan, dtype=torch.float64)
    scores = torch.full((k,), info.failure_score, dtype=torch.float64)
    looped = 0  # epochs the loop ran: every model is computed in each (fused: diverged ones too)
    stop = recipe["epochs"] if epochs is None else min(epochs, recipe["epochs"])
    first, earlier = 0, [0.0] * k  # a resumed run: the epoch it stopped at, the seconds it cost
    if resume is not None:
        # torch: only where training runs, never in the API process
        from tunecost.workers.checkpoints import restore

        for j, saved in enumerate(resume):
            models.load(j, saved["weights"])
            curves[j] = list(saved["curve"])
            epochs_run[j] = saved["epochs_run"]
            earlier[j] = saved["seconds"]
        restore(resume, opt, sched, order)
        first = resume[0]["epoch"]
    for epoch in range(first, stop):
        looped += 1
        models.train()
        perm = torch.randperm(n, generator=order).to(device)
        total = torch.zeros(k, dtype=torch.float64, device=device)
        count = 0
        epochs_run += (~diverged).long().cpu()
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            inputs = x_train[idx] if augment is None else augment(x_train[idx], order)
            losses = model_losses(models.logits(inputs), y_train[idx], regression)
            diverged |= ~torch.isfinite(losses)
            active = ~diverged
            if not bool(active.any()):
                break
            # a diverged model gets no gradient from the others: the models are independent
            models.backward(torch.where(active, losses, torch.zeros_like(losses)))
            opt.step()
            total += torch.where(active, losses.detach(), torch.zeros_like(losses)).double() * idx.numel()
            count += idx.numel()
        if not bool((~diverged).any()):
            break
        train_loss = torch.where(diverged.cpu(), train_loss, (total / max(count, 1)).cpu())
        if sched is not None:
            sched.step()
        with torch.no_grad():
            diverged |= ~models.finite()
        val_losses, scores = evaluate()
        now: list[float | None] = []
        for j in range(k):
            alive = not bool(diverged[j]) and math.isfinite(float(val_losses[j]))
            now.append(float(scores[j]) if alive else None)
            if alive:
                curves[j].append(float(scores[j]))
        if on_epoch is not None:
            on_epoch(epoch + 1, now)

    # Seconds per config, the documented rule: the run's wall time per model-epoch computed,
    # times the epochs this config trained. One config: its wall time. K fused configs: the
    # time each would have cost had it stopped when it diverged (what early stopping pays).
    per_model_epoch = (time.perf_counter() - start) / (k * max(looped, 1))
    results = []
    for j in range(k):
        ran_here = int(epochs_run[j]) - (0 if resume is None else resume[j]["epochs_run"])
        seconds = earlier[j] + per_model_epoch * (max(ran_here, 1) if resume is None else ran_here)
        if bool(diverged[j]) or not math.isfinite(float(val_losses[j])):
            results.append(
                TrialResult(info.failure_score, None, None, True, seconds, int(epochs_run[j]), curves[j])
            )
        else:
            results.append(
                TrialResult(
                    float(scores[j]),
                    float(val_losses[j]),
                    float(train_loss[j]),
                    False,
                    seconds,
                    int(epochs_run[j]),
                    curves[j],
                )
            )
    if keep is not None:
        # torch: only where training runs, never in the API process
        from tunecost.workers.checkpoints import capture

        records = [
            {"epoch": stop, "curve": r.curve, "epochs_run": r.epochs_run, "seconds": r.seconds}
            for r in results
        ]
        keep += capture([models.weights(j) for j in range(k)], opt, sched, order, records)
    return results


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
    on_epoch: Callable[[int, float | None], None] | None = None,
    epochs: int | None = None,
    resume: dict[str, Any] | None = None,
    keep: list[dict[str, Any]] | None = None,
) -> TrialResult:
    """Train ``task`` with ``optimizer`` at (alpha, epsilon); return its validation score.

    ``dtype`` (default float32) is what the parity tests set to ``torch.float64``;
    ``on_epoch(epoch, score)`` hears the validation score after each epoch (None once diverged);
    ``epochs`` stops after that many epochs of the full schedule; ``resume`` continues a run
    from its state, ``keep`` receives the state at the end (:func:`train_models`).
    """
    full_recipe = recipe_for(task, recipe)
    if TASKS[task].analytic:
        return _synthetic_bowl(alpha, epsilon, full_recipe)
    # torch: only where training runs, never in the API process
    import torch

    (result,) = train_models(
        task,
        optimizer,
        [(alpha, epsilon)],
        SingleModel,
        seed=seed,
        recipe=full_recipe,
        data_dir=data_dir,
        device=device or ("cuda" if torch.cuda.is_available() else "cpu"),
        dtype=dtype or torch.float32,
        on_epoch=None if on_epoch is None else (lambda epoch, scores: on_epoch(epoch, scores[0])),
        epochs=epochs,
        resume=None if resume is None else [resume],
        keep=keep,
    )
    return result
