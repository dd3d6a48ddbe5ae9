"""What can be tuned here: the installed catalog (built-ins and plugins), searchers, named
spaces and recipe options, as ``GET /v1/catalog`` serves it and ``tunecost catalog`` prints it
when no server answers."""

from __future__ import annotations

from typing import Any

from search_spaces import NAMED_GRIDS, SEARCHERS
from workers.registry import OPTIMIZERS, RECIPE_OPTIONS, TASKS, plugin_errors


def installed() -> dict[str, Any]:
    """The catalog of this process's environment, as JSON (the API's ``CatalogPublic``)."""
    return {
        "tasks": [t.to_json() for t in TASKS.values()],
        "optimizers": [o.to_json() for o in OPTIMIZERS.values()],
        "searchers": [s.to_json() for s in SEARCHERS.values()],
        "spaces": {name: grid().to_json() for name, grid in NAMED_GRIDS.items()},
        "recipe_options": RECIPE_OPTIONS,
        "plugin_errors": [e.to_json() for e in plugin_errors()],
    }
