"""Tasks by name: one file per task with its data, model and recipe.

A task module exposes ``load_data(recipe, data_dir) -> Data`` and ``build_model(recipe)``,
optionally ``augment(x, generator)`` applied to each training batch. The recipes
(defaults, fidelity knobs) live torch-free in :mod:`workers.registry`.
"""

from __future__ import annotations

import importlib
from typing import Any


class DataMissingError(FileNotFoundError):
    """A task's data directory is missing or incomplete; the message names the directory."""


# name -> "module" or "module:attribute" (a namespace with load_data/build_model)
_MODULES = {
    "digits-mlp": "workers.tasks.digits_mlp",
    "mnist5k-mlp": "workers.tasks.mnist5k:MLP",
    "mnist5k-cnn": "workers.tasks.mnist5k:CNN",
    "cifar10-wrn": "workers.tasks.cifar10_wrn",
}


def task_module(name: str) -> Any:
    if name not in _MODULES:
        raise ValueError(f"Task {name!r} has no training module; known: {sorted(_MODULES)}")
    module_name, _, attribute = _MODULES[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


__all__ = ["DataMissingError", "task_module"]
