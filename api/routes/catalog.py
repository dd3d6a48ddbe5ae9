"""/v1/catalog and /v1/best-configs: what can be tuned, and the best found so far."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import BestConfigPublic, CatalogPublic
from search_spaces import NAMED_GRIDS, SEARCHERS
from service import jobs as job_service
from service.specs import task_metric
from workers.registry import OPTIMIZERS, RECIPE_OPTIONS, TASKS, plugin_errors

router = APIRouter(tags=["catalog"])


@router.get(
    "/catalog",
    response_model=CatalogPublic,
    summary="Tasks, optimizers (built-in and plugins, with their source), searchers and named spaces",
)
def catalog() -> CatalogPublic:
    return CatalogPublic(
        tasks=[t.to_json() for t in TASKS.values()],
        optimizers=[o.to_json() for o in OPTIMIZERS.values()],
        searchers=[s.to_json() for s in SEARCHERS.values()],
        spaces={name: grid().to_json() for name, grid in NAMED_GRIDS.items()},
        recipe_options=RECIPE_OPTIONS,
        plugin_errors=[e.to_json() for e in plugin_errors()],
    )


@router.get(
    "/best-configs",
    response_model=BestConfigPublic,
    responses={404: {"description": "Finished trial not found"}},
    summary="Best (alpha, epsilon) over all finished trials of a task and optimizer",
)
def best_config(
    session: SessionDep, task: str, optimizer: str, recipe_hash: str | None = None
) -> BestConfigPublic:
    best = job_service.best_config(session, task, optimizer, recipe_hash=recipe_hash)
    return BestConfigPublic.model_validate({**best.model_dump(), "metric": task_metric(task)})
