"""tunecost's public API: what plugins, clients and scripts may import and rely on.

    from tunecost import OptimizerInfo, TaskInfo, Recipe     # plugin contracts (torch-free)
    from tunecost import Metric, REGRESSION_MSE              # what a task's trials score
    from tunecost import TunecostClient, TunecostError       # the REST client, its error answers
    from tunecost import GLDSampler, CGLDSampler             # plain Optuna samplers
    from tunecost.tasks import Data, carve_validation        # helpers for a task's module
    from tunecost.testing import check_optimizer, check_task # conformance checks for plugins

Everything else (``tunecost.api``, ``tunecost.service``, ``tunecost.workers``,
``tunecost.search_spaces``: the repository's folders, installed under this name) is internal
and may change between versions. The contracts are described in docs/PLUGINS.md. Importing
this package imports neither torch nor Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunecost.service import VERSION as __version__
from tunecost.workers.catalog import (
    CLASSIFICATION_ERROR,
    OPTIMIZER_GROUP,
    REGRESSION_MSE,
    TASK_GROUP,
    CNNRecipe,
    Lookahead,
    Metric,
    MLPRecipe,
    OptimizerInfo,
    PluginError,
    Recipe,
    Restarts,
    TaskInfo,
)

if TYPE_CHECKING:
    from tunecost.api.client import TunecostClient, TunecostError
    from tunecost.search_spaces import CGLDSampler, GLDSampler

_LAZY = {
    "TunecostClient": "tunecost.api.client",
    "TunecostError": "tunecost.api.client",
    "GLDSampler": "tunecost.search_spaces",
    "CGLDSampler": "tunecost.search_spaces",
}


def __getattr__(name: str) -> Any:  # the client and the samplers load on first use
    if name in _LAZY:
        # resolves a public name on first use (PEP 562)
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunecost' has no attribute {name!r}")


__all__ = [
    "CLASSIFICATION_ERROR",
    "OPTIMIZER_GROUP",
    "REGRESSION_MSE",
    "Metric",
    "TASK_GROUP",
    "CGLDSampler",
    "CNNRecipe",
    "GLDSampler",
    "Lookahead",
    "MLPRecipe",
    "OptimizerInfo",
    "PluginError",
    "Recipe",
    "Restarts",
    "TaskInfo",
    "TunecostClient",
    "TunecostError",
    "__version__",
]
