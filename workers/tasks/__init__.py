"""Tasks by name. Each task module exposes ``load_data`` and ``build_model``."""

from __future__ import annotations

import importlib
from types import ModuleType

from workers.registry import TASKS

_MODULES = {"digits-mlp": "workers.tasks.digits_mlp"}


class DataMissingError(FileNotFoundError):
    """A task's data directory is missing or incomplete."""


def task_module(name: str) -> ModuleType:
    if name not in _MODULES:
        raise ValueError(f"Task {name!r} has no training module; known: {sorted(_MODULES)}")
    return importlib.import_module(_MODULES[name])


__all__ = ["TASKS", "DataMissingError", "task_module"]
