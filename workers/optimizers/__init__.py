"""Optimizers: the hand-written ones from their authors' code, and one registry for all.

    from workers.optimizers import AvaGrad, AvaGradW, AdaBelief, DelayedAdam
    opt = AvaGrad(model.parameters(), lr=0.1, eps=0.1)

``make_optimizer(name, params, lr, eps, **options)`` builds any optimizer of the catalog
(:mod:`workers.registry`, torch-free, which also documents where epsilon enters and each
optimizer's library-default (alpha, epsilon)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from workers.optimizers._adabelief import AdaBelief
from workers.optimizers._avagrad import AvaGrad, AvaGradW
from workers.optimizers._delayed_adam import DelayedAdam
from workers.registry import OPTIMIZERS


def _sgd(params: Iterable[Any], lr: float, eps: float, **kw: Any) -> torch.optim.Optimizer:
    del eps  # SGD has no epsilon; the (alpha, epsilon) landscape is flat along it
    return torch.optim.SGD(params, lr=lr, **kw)


def _with_eps(cls: type[torch.optim.Optimizer]) -> Callable[..., torch.optim.Optimizer]:
    def build(params: Iterable[Any], lr: float, eps: float, **kw: Any) -> torch.optim.Optimizer:
        return cls(params, lr=lr, eps=eps, **kw)

    return build


_FACTORIES: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": _sgd,
    "adam": _with_eps(torch.optim.Adam),
    "amsgrad": _with_eps(torch.optim.Adam),
    "adamw": _with_eps(torch.optim.AdamW),
    "radam": _with_eps(torch.optim.RAdam),
    "adabelief": _with_eps(AdaBelief),
    "avagrad": _with_eps(AvaGrad),
    "avagradw": _with_eps(AvaGradW),
    "delayed_adam": _with_eps(DelayedAdam),
}


def make_optimizer(
    name: str, params: Iterable[Any], lr: float, eps: float, **options: Any
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` with learning rate ``lr`` and epsilon ``eps``.

    ``options`` (e.g. ``weight_decay``) are added to the catalog's fixed options.
    """
    if name not in _FACTORIES:
        raise ValueError(f"Unknown optimizer: {name!r}; known: {sorted(_FACTORIES)}")
    kwargs = {**OPTIMIZERS[name].options, **options}
    return _FACTORIES[name](params, lr, eps, **kwargs)


__all__ = ["AdaBelief", "AvaGrad", "AvaGradW", "DelayedAdam", "make_optimizer"]
