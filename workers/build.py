"""From a catalog name to the torch objects that train: an optimizer over one parameter group
per config (``make_optimizer``), its batched step over a fused sweep's stacked tensors
(``make_batched_optimizer``), and a task's module (``task_module``). Built-in or plugin alike:
each resolves the catalog's import path (:mod:`tunecost.workers.catalog`, which also documents where
epsilon enters and each optimizer's library-default (alpha, epsilon)).

A one-config trial passes one group, a fused sweep one per stacked model, and the same maths
updates them all; the batched step (:mod:`tunecost.workers.optimizers._batched`) is one pass per tensor
for every config, where the catalog names one (``batched``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from tunecost.workers.catalog import OPTIMIZERS, TASKS, OptimizerInfo, resolve
from tunecost.workers.optimizers import BatchedOptimizer, Lookahead


def optimizer_class(info: OptimizerInfo) -> Callable[..., torch.optim.Optimizer]:
    if not info.optimizer:
        raise ValueError(f"optimizer {info.name!r} names no implementation (`optimizer` is empty)")
    return resolve(info.optimizer)


def make_optimizer(
    name: str,
    groups: Sequence[tuple[Iterable[Any], float, float]],
    *,
    lookahead: dict[str, Any] | None = None,
    **options: Any,
) -> torch.optim.Optimizer | Lookahead:
    """Optimizer ``name`` over one parameter group per ``(params, alpha, epsilon)``.

    ``options`` (e.g. ``weight_decay``) are added to the catalog's fixed options; a zero
    ``weight_decay`` is left out, so optimizers without one work. ``lookahead`` (``k``,
    ``alpha``) wraps the result in :class:`Lookahead`.
    """
    info = _info(name)
    kwargs = _options(info, options)
    param_groups = []
    for params, alpha, epsilon in groups:
        group: dict[str, Any] = {"params": list(params), info.alpha_arg: alpha}
        if info.epsilon_arg is not None:  # no epsilon: the landscape is flat along it
            group[info.epsilon_arg] = epsilon
        param_groups.append(group)
    first = param_groups[0]
    defaults = {key: value for key, value in first.items() if key != "params"}
    opt = optimizer_class(info)(param_groups, **defaults, **kwargs)
    return Lookahead(opt, **lookahead) if lookahead else opt


def _info(name: str) -> OptimizerInfo:
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer: {name!r}; known: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def _options(info: OptimizerInfo, options: dict[str, Any]) -> dict[str, Any]:
    """The catalog's fixed options and the recipe's; a zero ``weight_decay`` left out, so the
    class's own default holds (AdamW's 1e-2) and optimizers without one work."""
    return {**info.options, **{k: v for k, v in options.items() if not (k == "weight_decay" and not v)}}


def has_batched(name: str) -> bool:
    """Whether optimizer ``name`` offers a batched step (the catalog's ``batched``)."""
    return bool(_info(name).batched)


def make_batched_optimizer(
    name: str,
    stacked: Sequence[torch.Tensor],
    configs: Sequence[tuple[float, float]],
    *,
    lookahead: dict[str, Any] | None = None,
    **options: Any,
) -> BatchedOptimizer | Lookahead:
    """Optimizer ``name``'s batched step over ``stacked`` tensors ``(K, ...)`` (each with its
    ``.grad``), config k at ``configs[k]`` = (alpha, epsilon); options as :func:`make_optimizer`."""
    info = _info(name)
    if not info.batched:
        raise ValueError(f"optimizer {name!r} has no batched step (the catalog's `batched` is empty)")
    alphas = [alpha for alpha, _ in configs]
    epsilons = [epsilon for _, epsilon in configs]
    opt = resolve(info.batched)(list(stacked), alphas, epsilons, **_options(info, options))
    return Lookahead(opt, **lookahead) if lookahead else opt


def task_module(name: str) -> Any:
    """The namespace that trains task ``name`` (``load_data``, ``build_model``, optionally
    ``augment``), from the catalog's import path: built-in or plugin alike."""
    if name not in TASKS or not TASKS[name].module:
        known = sorted(n for n, info in TASKS.items() if info.module)
        raise ValueError(f"Task {name!r} has no training module; known: {known}")
    return resolve(TASKS[name].module)
