"""Landscapes as they are read: the error matrix, summaries, the full detail, finding a stored one.

A landscape is written by a sweep job (:mod:`service.kinds.sweep`) and read by replays,
comparisons, the study and the API; every read goes through here.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from search_spaces import GridSpace
from service.errors import NotFound
from service.models import Landscape, LandscapePoint
from workers.registry import TASKS


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

    @classmethod
    def of(cls, ls: Landscape) -> LandscapeSummary:
        return cls(
            id=ls.id,
            job_id=ls.job_id,
            task=ls.task,
            optimizer=ls.optimizer,
            recipe_hash=ls.recipe_hash,
            seeds=ls.seeds,
            shape=ls.grid.shape,
            fused=ls.fused,
            seconds=ls.seconds,
        )


class LandscapeDetail(LandscapeSummary):
    alphas: list[float]
    epsilons: list[float]
    errors: list[list[float | None]] = Field(
        description="Mean validation error (%); rows follow `alphas`, columns `epsilons`; null where a point failed."
    )
    error_stds: list[list[float | None]] = Field(description="Spread over the sweep's seeds.")
    diverged: list[list[int]] = Field(description="Seeds that diverged at each point.")
    recipe: dict[str, object]


def matrix(landscape: Landscape, points: list[LandscapePoint]) -> np.ndarray:
    """Errors as an (alphas x epsilons) array; a failed or missing point scores chance level."""
    chance = TASKS[landscape.task].chance_error if landscape.task in TASKS else 100.0
    out = np.full(landscape.grid.shape, chance)
    for p in points:
        if p.error is not None:
            out[p.alpha_index, p.epsilon_index] = p.error
    return out


def _points(session: Session, landscape_id: int) -> list[LandscapePoint]:
    return list(session.scalars(select(LandscapePoint).where(LandscapePoint.landscape_id == landscape_id)))


def load(session: Session, ids: list[int]) -> dict[int, tuple[Landscape, np.ndarray]]:
    """Landscapes by id with their error matrices, in the order of ``ids`` (missing ones left out)."""
    found = {ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(ids)))}
    return {i: (found[i], matrix(found[i], _points(session, i))) for i in ids if i in found}


def noise_std_median(session: Session, landscape: Landscape) -> float | None:
    """Median over the grid of each point's spread over seeds; None for a one-seed landscape."""
    if len(landscape.seeds) < 2:
        return None
    stds = [p.error_std for p in _points(session, landscape.id) if p.error_std is not None]
    return float(np.median(stds)) if stds else None


def list_landscapes(
    session: Session, *, task: str | None = None, optimizer: str | None = None
) -> list[LandscapeSummary]:
    query = select(Landscape).order_by(Landscape.id)
    if task:
        query = query.where(Landscape.task == task)
    if optimizer:
        query = query.where(Landscape.optimizer == optimizer)
    return [LandscapeSummary.of(ls) for ls in session.scalars(query)]


def detail(session: Session, landscape_id: int) -> LandscapeDetail:
    """A landscape as the API serves it: matrices indexed [alpha][epsilon], None where a point failed."""
    ls = session.get(Landscape, landscape_id)
    if ls is None:
        raise NotFound("Landscape")
    n_a, n_e = ls.grid.shape
    errors: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
    stds: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
    diverged = [[0] * n_e for _ in range(n_a)]
    for p in _points(session, landscape_id):
        errors[p.alpha_index][p.epsilon_index] = p.error
        stds[p.alpha_index][p.epsilon_index] = p.error_std
        diverged[p.alpha_index][p.epsilon_index] = p.diverged
    return LandscapeDetail(
        **LandscapeSummary.of(ls).model_dump(),
        alphas=list(ls.grid.alphas),
        epsilons=list(ls.grid.epsilons),
        errors=errors,
        error_stds=stds,
        diverged=diverged,
        recipe=ls.recipe,
    )


def find_matching(
    session: Session, *, task: str, optimizer: str, recipe_hash: str, grid: GridSpace, seeds: list[int]
) -> int | None:
    """The newest stored landscape of exactly this (task, optimizer, recipe, grid, seeds), if any."""
    stored = session.scalars(
        select(Landscape)
        .where(Landscape.task == task, Landscape.optimizer == optimizer, Landscape.recipe_hash == recipe_hash)
        .order_by(Landscape.id.desc())
    )
    return next((ls.id for ls in stored if ls.space == grid.to_json() and ls.seeds == seeds), None)
