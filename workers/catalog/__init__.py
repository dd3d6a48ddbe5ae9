"""Torch-free catalog of optimizers and tasks: the built-ins and every installed plugin.

The API validates names and shows the catalog from here without importing torch. Each
entry names its implementation by import path (``"package.module:Class"``), resolved only
where training runs (:mod:`tunecost.workers.build`).

Plugins are installed packages that offer entries through the entry-point groups
``tunecost.optimizers`` and ``tunecost.tasks`` (the packaging convention pytest uses): each
entry point names an :class:`OptimizerInfo` or :class:`TaskInfo` object, loaded lazily on the
first look at the catalog. A plugin that fails to load (import error, wrong object, a name
already taken) is left out, logged, and listed by :func:`plugin_errors`; it never stops the
host. The contract is documented for plugin authors in ``docs/PLUGINS.md``.

The package is four modules, one idea each: :mod:`~tunecost.workers.catalog.entries` (what an
entry is), :mod:`~tunecost.workers.catalog.recipes` (a task's typed recipe),
:mod:`~tunecost.workers.catalog.loader` (built-ins plus plugins, checked) and
:mod:`~tunecost.workers.catalog.builtins` (tunecost's own entries); this module assembles the two
catalogs and re-exports what callers use.
"""

from __future__ import annotations

from typing import Any

from tunecost.workers.catalog._static import EntryError
from tunecost.workers.catalog.builtins import BUILTIN_OPTIMIZERS, BUILTIN_TASKS
from tunecost.workers.catalog.entries import (
    BUILTIN,
    CLASSIFICATION_ERROR,
    METRICS,
    OPTIMIZER_GROUP,
    REGRESSION_MSE,
    TASK_GROUP,
    Metric,
    OptimizerInfo,
    PluginError,
    TaskInfo,
    format_score,
)
from tunecost.workers.catalog.loader import Catalog, resolve
from tunecost.workers.catalog.recipes import (
    OMITTED_WHEN_UNSET,
    RECIPE_OPTIONS,
    CharLMRecipe,
    CNNRecipe,
    DigitsCNNRecipe,
    Lookahead,
    MLPRecipe,
    MNISTMLPRecipe,
    Recipe,
    Restarts,
    SyntheticRecipe,
    TabularMLPRecipe,
    WRNRecipe,
)

OPTIMIZERS: Catalog = Catalog(OPTIMIZER_GROUP, OptimizerInfo, BUILTIN_OPTIMIZERS)
TASKS: Catalog = Catalog(TASK_GROUP, TaskInfo, BUILTIN_TASKS)


def plugin_errors() -> list[PluginError]:
    """Every installed plugin that failed to load, both groups looked at."""
    len(OPTIMIZERS), len(TASKS)  # loads both catalogs
    return OPTIMIZERS.errors + TASKS.errors


def recipe_for(task: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's full recipe with ``overrides`` applied, validated (``pydantic.ValidationError``
    names the bad key: unknown, wrong type or out of bounds), as a plain dict."""
    recipe = TASKS[task].recipe_model.model_validate(overrides or {}).model_dump(mode="json")
    for key in OMITTED_WHEN_UNSET:
        if key in recipe and recipe[key] is None:
            del recipe[key]
    return recipe


__all__ = [
    "BUILTIN",
    "CLASSIFICATION_ERROR",
    "METRICS",
    "OPTIMIZERS",
    "OPTIMIZER_GROUP",
    "RECIPE_OPTIONS",
    "REGRESSION_MSE",
    "TASKS",
    "TASK_GROUP",
    "CNNRecipe",
    "Catalog",
    "CharLMRecipe",
    "DigitsCNNRecipe",
    "EntryError",
    "Lookahead",
    "MLPRecipe",
    "MNISTMLPRecipe",
    "Metric",
    "OptimizerInfo",
    "PluginError",
    "Recipe",
    "Restarts",
    "SyntheticRecipe",
    "TabularMLPRecipe",
    "TaskInfo",
    "WRNRecipe",
    "format_score",
    "plugin_errors",
    "recipe_for",
    "resolve",
]
