"""/v1/catalog and /v1/best-configs: what can be tuned, and the best found so far."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import BestConfigPublic, CatalogPublic
from service import catalog as catalog_service
from service import jobs as job_service
from service.specs import task_metric

router = APIRouter(tags=["catalog"])


@router.get(
    "/catalog",
    response_model=CatalogPublic,
    summary="Tasks, optimizers (built-in and plugins, with their source), searchers and named spaces",
)
def catalog() -> CatalogPublic:
    return CatalogPublic.model_validate(catalog_service.installed())


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
