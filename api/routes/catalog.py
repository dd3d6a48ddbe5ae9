"""/v1/catalog and /v1/best-configs: what can be tuned, and the best found so far."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tunecost.api.deps import SessionDep
from tunecost.api.schemas import BestConfigPublic, CatalogPublic
from tunecost.service import bests
from tunecost.service import catalog as catalog_service
from tunecost.service.specs import task_metric

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
    summary="The (alpha, epsilon) to use for a task, optimizer and recipe: a landscape's best node "
    "(measured on fresh seeds where it was), else the best search trial",
)
def best_config(
    session: SessionDep,
    task: str,
    optimizer: str,
    recipe_hash: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^[0-9a-f]{1,16}$",
            description="The recipe (a job's or landscape's `recipe_hash`); default the task's default recipe.",
        ),
    ] = None,
) -> BestConfigPublic:
    best = bests.recommended(session, task, optimizer, recipe_hash=recipe_hash)
    return BestConfigPublic.model_validate({**best.model_dump(), "metric": task_metric(task)})
