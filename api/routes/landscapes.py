"""/v1/landscapes and /v1/comparisons: stored sweeps and what searchers cost on them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import UrlDep
from service.db import session_scope
from service.models import Landscape
from service.replay import compare, landscape_detail, landscape_summary

router = APIRouter(tags=["landscapes"])


class LandscapeSummary(BaseModel):
    id: int
    job_id: int | None
    task: str
    optimizer: str
    recipe_hash: str
    seeds: list[int]
    shape: tuple[int, int]
    fused: bool
    seconds: float | None


class LandscapePublic(LandscapeSummary):
    alphas: list[float]
    epsilons: list[float]
    errors: list[list[float | None]] = Field(
        description="Mean validation error (%); rows follow `alphas`, columns `epsilons`; null where a point failed."
    )
    error_stds: list[list[float | None]] = Field(description="Spread over the sweep's seeds.")
    diverged: list[list[int]] = Field(description="Seeds that diverged at each point.")
    recipe: dict[str, Any]


@router.get("/landscapes", response_model=list[LandscapeSummary], summary="Stored landscapes (sweeps)")
def list_landscapes(
    url: UrlDep, task: str | None = None, optimizer: str | None = None
) -> list[dict[str, Any]]:
    query = select(Landscape).order_by(Landscape.id)
    if task:
        query = query.where(Landscape.task == task)
    if optimizer:
        query = query.where(Landscape.optimizer == optimizer)
    with session_scope(url) as session:
        return [landscape_summary(ls) for ls in session.scalars(query)]


@router.get(
    "/landscapes/{landscape_id}",
    response_model=LandscapePublic,
    responses={404: {"description": "Landscape not found"}},
)
def get_landscape(url: UrlDep, landscape_id: int) -> dict[str, Any]:
    return landscape_detail(url, landscape_id)


@router.get(
    "/comparisons",
    summary="Tuning cost per (optimizer, searcher): trials to reach each delta, over seeds",
    responses={404: {"description": "Replay job not found"}},
)
def comparisons(
    url: UrlDep,
    job_id: int | None = None,
    task: str | None = None,
    optimizers: Annotated[str | None, Query(description="Comma-separated, e.g. adam,avagrad")] = None,
    searchers: Annotated[str | None, Query(description="Comma-separated")] = None,
    deltas: Annotated[str | None, Query(description="Comma-separated points, e.g. 0.5,1")] = None,
) -> dict[str, Any]:
    """Rows: median, IQR (seeds that never reach delta count as infinite), mean and std over the
    seeds that reach it, and the share that do within the budget. Curves: median and IQR of
    suboptimality after t trials. Landscapes: each one's best error, share of configs within
    delta (random search's odds) and seed noise."""

    def split(value: str | None) -> list[str] | None:
        return [v.strip() for v in value.split(",") if v.strip()] if value else None

    try:
        parsed = [float(d) for d in split(deltas) or []] or None
    except ValueError:
        from service.errors import InvalidField

        raise InvalidField("deltas", f"must be comma-separated numbers, got {deltas!r}") from None
    return compare(
        url, job_id=job_id, task=task, optimizers=split(optimizers), searchers=split(searchers), deltas=parsed
    )
