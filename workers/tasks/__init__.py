"""Tasks by name: one file per task with its data, model and recipe.

A task module exposes ``load_data(recipe, data_dir) -> Data`` and ``build_model(recipe)``,
optionally ``augment(x, generator)`` applied to each training batch. The recipes
(defaults, fidelity knobs) live torch-free in :mod:`workers.registry`.
"""

from __future__ import annotations

from typing import Any

from workers.registry import TASKS, resolve


class DataMissingError(FileNotFoundError):
    """A task's data directory is missing or incomplete; the message names the directory."""


def task_module(name: str) -> Any:
    """The namespace that trains task ``name`` (``load_data``, ``build_model``, optionally
    ``augment``), from the catalog's import path: built-in or plugin alike."""
    if name not in TASKS or not TASKS[name].module:
        known = sorted(n for n, info in TASKS.items() if info.module)
        raise ValueError(f"Task {name!r} has no training module; known: {known}")
    return resolve(TASKS[name].module)


__all__ = ["DataMissingError", "task_module"]
