"""The fused sweep: many (alpha, epsilon) configs of one task trained at once, for any optimizer.

Every config of a sweep shares the seed, hence the initial weights and the data order;
only the optimizer's (alpha, epsilon) differ. So K configs are K copies of one model,
stacked along a leading dimension: ``torch.func.functional_call`` + ``vmap`` run the K
forward passes as batched matrix products, and one backward pass gives the K gradients
(the models are independent, so the gradient of the summed losses is each model's own).

Two ways to update them (:func:`update_path`). Any optimizer works with *groups*: model k's
parameters are views ``stacked[k]`` of the stacked tensors, with gradient views ``grad[k]``,
and the catalog's optimizer class -- torch.optim's, a hand-written one, a plugin's -- is built
once with one parameter group per model carrying that model's alpha and epsilon. Per-group
state (AvaGrad's gamma, Lookahead's counters) is per model; the scheduler scales every group
alike. Where the catalog names a *batched* step (the built-ins), it updates each stacked
tensor for every config at once (:mod:`tunecost.workers.optimizers._batched`). The loop itself is
:func:`tunecost.workers.trainer.train_models`; ``tests/workers/test_fused.py`` checks fused against
:func:`tunecost.workers.trainer.train_one` in float64 for every optimizer of the catalog, and the
batched step against the groups.

How wide a batch is, and whether a sweep fuses at all, follows from the task on the device
(:func:`default_width`, :func:`choose_path`). Models with buffers (BatchNorm: the WRN) or
augmentation are not fused; :func:`can_fuse` says so and the sweep runs them one config at a
time. An optimizer whose catalog entry says ``fused=False`` (state shared across parameter
groups) is trained one config at a time too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import torch
from torch.func import functional_call, vmap

from tunecost.workers import channels_last
from tunecost.workers.catalog import OPTIMIZERS, TASKS, recipe_for
from tunecost.workers.trainer import TrialResult, model_losses, train_models


class StackedModels:
    """K copies of ``base`` as stacked tensors; the optimizer sees per-model views."""

    def __init__(self, base: torch.nn.Module, k: int) -> None:
        # a CNN on a CPU: channels-last throughout (its pools replaced in ``base``), as
        # :mod:`tunecost.workers.channels_last` says why
        self.channels_last = channels_last.wanted(base)
        self.base = channels_last.fold_pools(base) if self.channels_last else base
        self.k = k
        self.stacked = {
            name: _stack(p.detach(), k, self.channels_last).requires_grad_(True)
            for name, p in base.named_parameters()
        }
        # the stacked tensors as an optimizer updates them: they share memory with ``stacked``,
        # so in-place updates land in the weights the forward pass reads
        self.tensors: list[torch.Tensor] = [stacked.detach() for stacked in self.stacked.values()]
        self._groups: list[list[torch.Tensor]] | None = None
        self._forward = vmap(lambda params, x: functional_call(base, params, (x,)), in_dims=(0, None))

    @property
    def groups(self) -> list[list[torch.Tensor]]:
        """Model j's parameters as views ``tensors[i][j]``, for an optimizer with one parameter
        group per model; each view's gradient is a view of one buffer per stacked tensor, laid
        out as the weights, into which :meth:`backward` copies. Made when first asked for: a
        batched optimizer never asks, and its steps take autograd's gradients as they are."""
        if self._groups is None:
            buffers = [torch.zeros_like(t) for t in self.tensors]  # the weights' strides
            self._groups = [[t[j] for t in self.tensors] for j in range(self.k)]
            for tensor, buffer in zip(self.tensors, buffers, strict=True):
                tensor.grad = buffer
            for j, group in enumerate(self._groups):
                for view, buffer in zip(group, buffers, strict=True):
                    view.grad = buffer[j]
        return self._groups

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.stacked, channels_last.channels_last_input(x) if self.channels_last else x)

    def backward(self, losses: torch.Tensor) -> None:
        """Each stacked tensor's gradient. autograd keeps a leaf's gradient in the leaf's layout
        (taken as computed where it already is, copied where not), and a matrix's comes out of
        the batched product in the layout :func:`_stack` gives it; so the weights, their
        gradient and the optimizer's state share one layout (an update over mixed strides runs
        several times slower: Adam's ``lerp_``, measured). A batched optimizer's step takes that
        gradient as it is (a copy was ~10% of a fused MLP epoch); per-model groups
        (:attr:`groups`) hold views of fixed buffers, and get a copy (K x P views made anew
        every step cost more: 0.9 ms against 0.3 for digits-mlp's 208 configs)."""
        for tensor, leaf in zip(self.tensors, self.stacked.values(), strict=True):
            leaf.grad = None
            if self._groups is None:  # last step's gradient freed before this one is made
                tensor.grad = None
        losses.sum().backward()
        for tensor, leaf in zip(self.tensors, self.stacked.values(), strict=True):
            if self._groups is None:
                tensor.grad = leaf.grad
            elif leaf.grad is not None:
                tensor.grad.copy_(leaf.grad)  # type: ignore[union-attr]

    def weights(self, j: int) -> dict[str, torch.Tensor]:
        return {name: stacked.detach()[j] for name, stacked in self.stacked.items()}

    def load(self, j: int, weights: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, stacked in self.stacked.items():
                stacked.detach()[j].copy_(weights[name])

    def finite(self) -> torch.Tensor:
        return torch.stack([torch.isfinite(p.detach().flatten(1)).all(1) for p in self.stacked.values()]).all(
            0
        )


def _stack(p: torch.Tensor, k: int, conv_channels_last: bool = False) -> torch.Tensor:
    """K copies of ``p`` along a new leading dimension. A matrix (a Linear's weight, out x in)
    is stored with its last two dimensions swapped in memory, as the batched product's backward
    writes its gradient (``(K, in, out)``, read transposed), so the gradient, the weights and
    the optimizer's state share one layout; with ``conv_channels_last`` a conv weight is stored
    as :func:`tunecost.workers.channels_last.stack_conv_weight` says, for the same reason."""
    if conv_channels_last and p.dim() == 4:
        return channels_last.stack_conv_weight(p, k)
    if p.dim() == 2:
        return p.t().unsqueeze(0).repeat(k, 1, 1).transpose(1, 2)
    return p.unsqueeze(0).repeat(k, *([1] * p.dim()))  # repeat copies


def can_fuse(task: str, optimizer: str) -> bool:
    """Whether (task, optimizer) has a fused path: a trained task without buffers or
    augmentation, and an optimizer whose groups are independent (``fused`` in the catalog)."""
    info = TASKS[task]
    if info.analytic or optimizer not in OPTIMIZERS or not OPTIMIZERS[optimizer].fused:
        return False
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import task_module

    module = task_module(task)
    model = module.build_model(recipe_for(task))
    return not any(True for _ in model.buffers()) and getattr(module, "augment", None) is None


GPU_HEADROOM = 0.85  # of a chunk's memory budget, what fused batches may plan to use: the allocator's
# fragmentation and cuDNN workspaces take the rest


def fused_width(
    configs: int, fixed: int, per_config: int, budget: int, headroom: float = GPU_HEADROOM
) -> int:
    """How many configs to stack at once so that a fused batch fits in ``budget`` bytes: ``fixed``
    bytes whatever the width (the data on the device, the base model), ``per_config`` bytes for
    each stacked config (its weights, gradients, optimizer state and activations). Raises
    MemoryError, naming the figures, when not even one config fits."""
    room = int(budget * headroom) - fixed
    if room < per_config:
        raise MemoryError(
            f"one config needs {(fixed + per_config) / 2**20:.0f} MiB ({fixed / 2**20:.0f} MiB fixed + "
            f"{per_config / 2**20:.0f} MiB per config) but the chunk may use {budget * headroom / 2**20:.0f} MiB "
            f"({headroom:.0%} of {budget / 2**20:.0f} MiB): ask for a larger share of the GPU (resources.gpu)"
        )
    return max(1, min(configs, room // max(per_config, 1)))


def memory_budget(device: str, share: float | None = None) -> int:
    """Bytes a chunk may use on a CUDA ``device``: its free memory, and at most ``share`` of the
    device's total where the chunk holds a fraction of the GPU (Ray's ``num_gpus=0.25``: four
    chunks side by side, each within its quarter)."""
    free, total = torch.cuda.mem_get_info(torch.device(device))
    return int(min(free, total * share)) if share is not None and 0 < share < 1 else int(free)


def config_bytes(
    task: str,
    optimizer: str,
    recipe: dict[str, Any],
    device: str,
    dtype: torch.dtype,
    data_dir: str | None = None,
) -> tuple[int, int]:
    """(bytes a fused batch needs whatever its width, bytes each config adds), measured on ``device``
    by one training step of 1 and of 2 stacked configs (CUDA: the allocator's peak, activations
    included). On a CPU, counted instead: the data, and per config its weights, gradients and
    optimizer state after a step (activations not counted)."""
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import make_optimizer, task_module

    module = task_module(task)
    data = module.load_data(recipe, data_dir)
    regression = TASKS[task].metric.kind == "mse"
    cuda = device.startswith("cuda")

    def step(k: int) -> int:
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
        torch.manual_seed(0)
        models = StackedModels(module.build_model(recipe).to(device=device, dtype=dtype), k)
        opt = make_optimizer(
            optimizer,
            [(group, 1e-3, 1e-8) for group in models.groups],
            weight_decay=recipe["weight_decay"],
        )
        x = data.x_train[: recipe["batch_size"]].to(device=device, dtype=dtype)
        y = data.y_train[: recipe["batch_size"]].to(device)
        if regression:  # as the training loop shapes them
            y = y.to(dtype).reshape(y.shape[0], -1)
        models.backward(model_losses(models.logits(x), y, regression))
        opt.step()
        if cuda:
            torch.cuda.synchronize(device)
            return torch.cuda.max_memory_allocated(device) - before
        tensors = [*models.tensors, *(t.grad for t in models.tensors if t.grad is not None)]
        tensors += [v for state in opt.state.values() for v in state.values() if isinstance(v, torch.Tensor)]
        return sum(t.numel() * t.element_size() for t in tensors)

    one, two = step(1), step(2)
    per_config = max(two - one, 1)
    on_device = sum(
        t.numel() * t.element_size() for t in (data.x_train, data.y_train, data.x_val, data.y_val)
    )
    return on_device + max(one - per_config, 0), per_config


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
    epochs: int | None = None,
    resume: list[dict[str, Any]] | None = None,
    keep: list[dict[str, Any]] | None = None,
    gpu_share: float | None = None,
    path: str | None = None,
) -> list[TrialResult]:
    """Train every (alpha, epsilon) of ``configs``; one TrialResult per config, in order.

    ``path``: how the K stacked models are updated (:func:`update_path`; default: the batched
    step where the optimizer has one, else one parameter group per model).

    ``width`` configs are stacked at a time (each batch from the same seed, so results do
    not depend on it); default: on a GPU, as many as fit in the chunk's memory budget (its
    free memory, within ``gpu_share`` of the device when the chunk holds a fraction of it:
    :func:`fused_width` over :func:`config_bytes` and :func:`memory_budget`), and on a CPU as
    many as keep about two million stacked parameters. ``epochs`` stops after that many epochs of the full
    schedule (a rung); ``resume`` continues each config from its state, and ``keep`` receives
    each config's state at the end (:func:`tunecost.workers.trainer.train_models`).
    """
    if not can_fuse(task, optimizer):
        raise ValueError(f"no fused path for task {task!r} with optimizer {optimizer!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    full_recipe = recipe_for(task, recipe)
    if width is None:
        width = default_width(task, optimizer, len(configs), full_recipe, device, dtype, data_dir, gpu_share)
    path = path or update_path(optimizer)
    results: list[TrialResult] = []
    for lo in range(0, len(configs), max(1, width)):
        batch = configs[lo : lo + width]
        results += train_models(
            task,
            optimizer,
            batch,
            partial(StackedModels, k=len(batch)),
            seed=seed,
            recipe=full_recipe,
            data_dir=data_dir,
            device=device,
            dtype=dtype,
            epochs=epochs,
            resume=None if resume is None else resume[lo : lo + width],
            keep=keep,
            path=path,
        )
    return results


def default_width(
    task: str,
    optimizer: str,
    configs: int,
    recipe: dict[str, Any],
    device: str,
    dtype: torch.dtype = torch.float32,
    data_dir: str | None = None,
    gpu_share: float | None = None,
) -> int:
    """Configs stacked per fused batch: on a GPU as many as fit in the chunk's memory budget; on a
    CPU as many as keep about two million stacked parameters and the activations of a training
    batch within :data:`CPU_ACTIVATIONS_PER_BATCH` (nine million for a CNN the fused path lays
    out channels-last, :mod:`tunecost.workers.channels_last`; ``recipe``: the full recipe)."""
    if device.startswith("cuda"):
        fixed, per_config = config_bytes(task, optimizer, recipe, device, dtype, data_dir)
        return fused_width(configs, fixed, per_config, memory_budget(device, gpu_share))
    params, activations, laid_out = _model_floats(task, json.dumps(recipe, sort_keys=True), data_dir)
    budget = CPU_ACTIVATIONS_PER_BATCH_CHANNELS_LAST if laid_out else CPU_ACTIVATIONS_PER_BATCH
    return max(1, min(configs, CPU_FLOATS_PER_BATCH // params, budget // activations))


CPU_ACTIVATIONS_PER_BATCH = 4_000_000  # activations of one training batch, all stacked configs: a
# CNN's elementwise passes (ReLU, pooling, their backward) spill out of cache beyond this and the
# fused path loses (measured, MNIST-5k CNN under vmap: 6.3 ms a config-step at width 8, 13.8 at
# 16, 22 at 64, against 5.0 one at a time)
CPU_ACTIVATIONS_PER_BATCH_CHANNELS_LAST = 9_000_000  # the same for a CNN laid out channels-last,
# whose pools no longer copy the batch apart: MNIST-5k's CNN (2.2M activations a config) fused
# four wide ran 1.17-1.40x faster than one config at a time in each of four alternations in one
# process (two wide: 1.17-1.31x in each of three); digits-cnn (0.23M) as fast 39 wide as 17 (0.370 against
# 0.375 s a config, median of six)


@lru_cache(maxsize=64)
def _model_floats(task: str, recipe_json: str, data_dir: str | None) -> tuple[int, int, bool]:
    """(parameters, activations of one training batch, whether a fused stack of it on a CPU is
    laid out channels-last) of one model: the activations are every leaf module's output summed
    over a forward pass of ``batch_size`` zeros shaped as the task's inputs."""
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import task_module

    recipe = json.loads(recipe_json)
    module = task_module(task)
    model = module.build_model(recipe)
    params = sum(p.numel() for p in model.parameters())
    sample = module.load_data(recipe, data_dir).x_train[:1]
    count = [0]

    def hook(_module: Any, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            count[0] += output.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model(torch.zeros_like(sample, dtype=torch.float32))
    finally:
        for handle in handles:
            handle.remove()
    return max(params, 1), max(count[0] * recipe["batch_size"], 1), channels_last.wanted(model)


@dataclass(frozen=True)
class PathChoice:
    """How a chunk trains: ``"fused"`` (stacked, at most ``width`` at a time, updated by the
    optimizer's ``update``) or ``"one at a time"``."""

    mode: str
    update: str
    width: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "update": self.update, "width": self.width}


def choose_path(
    task: str,
    optimizer: str,
    recipe: dict[str, Any] | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    gpu_share: float | None = None,
) -> PathChoice:
    """How a sweep trains configs of (task, optimizer) on ``device``: fused at the task's width
    there (:func:`default_width`), or one config at a time where that width is one config.

    Derived, not timed: a chunk that timed a few steps of each way chose by noise on a busy
    machine (two workers on two cores measured AvaGrad's fused step 2.2x slower than it is,
    and one trained its chunk one config at a time, 20% slower). The width holds the cases
    where fusing loses: a CNN whose activations fill the cache at two configs in ``vmap``'s
    layout (a plugin's CNN with a forward of its own) is one at a time.
    ``benchmarks/fused_sweep.py`` times both ways for every bundled task beside this choice.
    The choice does not depend on how many configs a chunk holds, so a sweep trains every chunk
    the same way however it is cut."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if not can_fuse(task, optimizer):
        return PathChoice("one at a time", "groups")
    full = recipe_for(task, recipe)
    width = default_width(task, optimizer, ANY_WIDTH, full, device, data_dir=data_dir, gpu_share=gpu_share)
    if width < 2:
        return PathChoice("one at a time", "groups")
    return PathChoice("fused", update_path(optimizer), width)


ANY_WIDTH = 1_000_000  # "as many configs as the device allows": the width a chunk of any size is cut to


def update_path(optimizer: str) -> str:
    """How a fused batch of ``optimizer`` is updated: ``"batched"``, one pass per stacked tensor
    (the catalog names a batched step), else ``"groups"``, one parameter group per model."""
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import has_batched

    return "batched" if has_batched(optimizer) else "groups"
