"""Tasks by name: one file per task with its data, model and recipe.

A task module exposes ``load_data(recipe, data_dir) -> Data`` and ``build_model(recipe)``,
optionally ``augment(x, generator)`` applied to each training batch. The recipes
(defaults, fidelity knobs) live torch-free in :mod:`tunecost.workers.catalog`; a task is loaded by
name through :func:`tunecost.workers.build.task_module`.
"""

from __future__ import annotations


class DataMissingError(FileNotFoundError):
    """A task's data directory is missing or incomplete; the message names the directory."""


__all__ = ["DataMissingError"]
