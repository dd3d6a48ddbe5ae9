"""Optimizers by name: ``make_optimizer(name, params, lr, eps, **options)``.

The catalog (defaults, where epsilon enters) lives torch-free in
:mod:`workers.registry`; this module turns a name into a ``torch.optim.Optimizer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from workers.registry import OPTIMIZERS


def _sgd(params: Iterable[Any], lr: float, eps: float, **kw: Any) -> torch.optim.Optimizer:
    del eps  # SGD has no epsilon; the (alpha, epsilon) landscape is flat along it
    return torch.optim.SGD(params, lr=lr, **kw)


def _adam(params: Iterable[Any], lr: float, eps: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, eps=eps, **kw)


def _adamw(params: Iterable[Any], lr: float, eps: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, eps=eps, **kw)


_FACTORIES: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": _sgd,
    "adam": _adam,
    "amsgrad": _adam,
    "adamw": _adamw,
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


__all__ = ["make_optimizer"]
