"""What can be tuned here: the installed catalog (built-ins and plugins), searchers, named
spaces, recipe options, and the schedulers (live search) and pruners (replay) that stop trials early, as ``GET /v1/catalog`` serves it and ``tunecost catalog`` prints it
when no server answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tunecost.search_spaces import NAMED_GRIDS, SEARCHERS
from tunecost.service.analysis.replay import PRUNER_CATALOG, PrunerSpec
from tunecost.service.kinds.search.spec import SCHEDULERS, SchedulerSpec
from tunecost.workers.catalog import OPTIMIZERS, RECIPE_OPTIONS, TASKS, plugin_errors


def installed() -> dict[str, Any]:
    """The catalog of this process's environment, as JSON (the API's ``CatalogPublic``)."""
    return {
        "tasks": [t.to_json() for t in TASKS.values()],
        "optimizers": [o.to_json() for o in OPTIMIZERS.values()],
        "searchers": [s.to_json() for s in SEARCHERS.values()],
        "spaces": {name: grid().to_json() for name, grid in NAMED_GRIDS.items()},
        "recipe_options": RECIPE_OPTIONS,
        "plugin_errors": [e.to_json() for e in plugin_errors()],
        "schedulers": _stoppers(SchedulerSpec, SCHEDULERS, "search", "scheduler"),
        "pruners": _stoppers(PrunerSpec, PRUNER_CATALOG, "replay", "pruner"),
    }


def _stoppers(
    model: type[BaseModel], table: dict[str, tuple[str, tuple[str, ...]]], kind: str, field: str
) -> list[dict[str, Any]]:
    """Each early-stopping rule a job kind takes: its name, what it builds, where it goes in a
    spec, and its options with their type, default and bounds (from the spec model's schema)."""
    properties = model.model_json_schema()["properties"]
    keys = ("type", "default", "minimum", "maximum", "description")
    return [
        {
            "name": name,
            "builds": builds,
            "job_kinds": [kind],
            "field": field,
            "options": {o: {k: properties[o][k] for k in keys if k in properties[o]} for o in options},
        }
        for name, (builds, options) in table.items()
    ]
