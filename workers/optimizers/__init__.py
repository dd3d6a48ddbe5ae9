"""Optimizers: the hand-written ones from their authors' code, and one way to build any
optimizer of the catalog, plugins included.

    from workers.optimizers import AvaGrad, AvaGradW, AdaBelief, AdaBound, AMSBound, AdaShift, DelayedAdam
    opt = AvaGrad(model.parameters(), lr=0.1, eps=0.1)

``make_optimizer(name, groups)`` builds optimizer ``name`` (:mod:`workers.registry`, torch-free,
which also documents where epsilon enters and each optimizer's library-default (alpha,
epsilon)) over one parameter group per (params, alpha, epsilon): a one-config trial passes
one group, a fused sweep one per stacked model, and the same maths updates them all.
``make_batched_optimizer(name, stacked, configs)`` builds the optimizer's batched step over
the stacked tensors of a fused sweep, where the catalog names one (``batched``): one pass per
tensor for every config (:mod:`workers.optimizers._batched`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from workers.optimizers._adabelief import AdaBelief, BatchedAdaBelief
from workers.optimizers._adabound import AdaBound, AMSBound
from workers.optimizers._adashift import AdaShift
from workers.optimizers._avagrad import AvaGrad, AvaGradW, BatchedAvaGrad, BatchedAvaGradW
from workers.optimizers._batched import BatchedAdam, BatchedAdamW, BatchedOptimizer, BatchedRAdam, BatchedSGD
from workers.optimizers._delayed_adam import BatchedDelayedAdam, DelayedAdam
from workers.optimizers._lookahead import Lookahead
from workers.registry import OPTIMIZERS, OptimizerInfo, resolve


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


__all__ = [
    "AMSBound",
    "AdaBelief",
    "BatchedAdaBelief",
    "BatchedAdam",
    "BatchedAdamW",
    "BatchedAvaGrad",
    "BatchedAvaGradW",
    "BatchedDelayedAdam",
    "BatchedOptimizer",
    "BatchedRAdam",
    "BatchedSGD",
    "AdaBound",
    "AdaShift",
    "AvaGrad",
    "AvaGradW",
    "DelayedAdam",
    "Lookahead",
    "has_batched",
    "make_batched_optimizer",
    "make_optimizer",
    "resolve",
]
