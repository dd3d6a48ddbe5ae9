"""Landscapes in the database: read (the error matrix, per-seed errors, curves, summaries, the
full detail, finding a stored one) and written (a sweep's points, an import). A sweep job
(:mod:`tunecost.service.kinds.sweep`) writes through here; replays, comparisons, the study and the API
read through here.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tunecost.search_spaces import GridSpace
from tunecost.service import VERSION
from tunecost.service.analysis.fidelity import same_rule
from tunecost.service.analysis.landscape import LandscapeDetail, LandscapeSummary
from tunecost.service.analysis.replay import Board, Curves
from tunecost.service.errors import NotFound
from tunecost.service.models import Landscape, LandscapePoint
from tunecost.workers.catalog import METRICS, OPTIMIZERS, TASKS, Metric


def summary(ls: Landscape) -> LandscapeSummary:
    """A stored landscape's summary."""
    return LandscapeSummary(
        id=ls.id,
        job_id=ls.job_id,
        task=ls.task,
        optimizer=ls.optimizer,
        recipe_hash=ls.recipe_hash,
        seeds=ls.seeds,
        sweep_seeds=ls.seeds_everywhere,
        refine=ls.refine,
        shape=ls.grid.shape,
        grid_name=ls.space.get("name"),
        fused=ls.fused,
        seconds=ls.seconds,
        provenance=ls.provenance,
        checksum=ls.checksum,
        fidelity=ls.fidelity,
        compute=ls.compute,
        reference=ls.reference,
        metric=metric_json(ls),
    )


def e_star(landscape: Landscape, errors: np.ndarray) -> float:
    """The landscape's e*: its reference (the best node's mean on fresh seeds) where it has
    one, else its best mean score (``errors``: :func:`matrix`)."""
    if landscape.reference is not None:
        return float(landscape.reference["error"])
    return float(errors.min())


def e_star_noise(landscape: Landscape) -> tuple[float, float]:
    """The standard error of the landscape's e* and its degrees of freedom: std / sqrt(n) and
    n - 1 over its reference's fresh seeds; (0, 0) where e* is not such a mean (no reference,
    or one seed)."""
    ref = landscape.reference
    if ref is None or ref.get("std") is None or len(ref.get("errors") or []) < 2:
        return 0.0, 0.0
    n = len(ref["errors"])
    return float(ref["std"]) / n**0.5, float(n - 1)


def metric_json(landscape: Landscape) -> dict[str, Any]:
    """The landscape's metric; a landscape stored before metrics were declared holds validation
    error in percent, where a failed point scored its task's chance error (or 100)."""
    if landscape.metric:
        return landscape.metric
    known = TASKS.get(landscape.task)
    failure = known.failure_score if known is not None and known.metric.kind == "error" else 100.0
    return {**METRICS["error"].to_json(), "failure_score": failure}


def metric_of(landscape: Landscape) -> Metric:
    return Metric.from_json(metric_json(landscape))


def matrix(landscape: Landscape, points: list[LandscapePoint]) -> np.ndarray:
    """Errors as an (alphas x epsilons) array; a failed or missing point scores the metric's
    failure score (a classification task's chance error)."""
    out = np.full(landscape.grid.shape, float(metric_json(landscape)["failure_score"]))
    for p in points:
        if p.error is not None:
            out[p.alpha_index, p.epsilon_index] = p.error
    return out


def seed_matrices(landscape: Landscape, points: list[LandscapePoint]) -> np.ndarray:
    """Per-seed errors, (seeds x alphas x epsilons); NaN where a seed was not trained at a node."""
    out = np.full((len(landscape.seeds), *landscape.grid.shape), np.nan)
    for p in points:
        for s, e in enumerate(p.errors):
            if e is not None:
                out[s, p.alpha_index, p.epsilon_index] = e
    return out


def checksum(points: list[LandscapePoint]) -> str:
    """sha256 of every point's per-seed errors (node order, floats as repr): two landscapes with
    the same checksum were made from the same numbers."""
    rows = sorted(
        (p.alpha_index, p.epsilon_index, [None if e is None else repr(e) for e in p.errors]) for p in points
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def provenance(origin: str, workers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What made a landscape: tunecost's version and where it was stored; for a sweep, each
    distinct (torch, device, CPU) its chunks trained on."""
    return {
        "origin": origin,
        "tunecost": VERSION,
        "python": platform.python_version(),
        "workers": workers or [],
    }


@dataclass(frozen=True)
class NodeRecord:
    """What was measured at one grid node, per seed in the landscape's seed order (None, or an
    empty curve, where a seed was not trained there): what :func:`add_points` stores."""

    errors: list[float | None]
    diverged: int = 0  # how many seeds diverged here
    curves: list[list[float]] | None = None  # a sweep's learning curve per seed
    seconds: list[float | None] | None = None  # a sweep's training seconds per seed
    epochs: int | None = None  # the epochs the node was trained to (successive halving)


def add_points(session: Session, landscape: Landscape, node_at: Callable[[int, int], NodeRecord]) -> float:
    """Store every node of a flushed landscape's grid from what was measured there
    (``node_at(i, j)``): the mean over the trained seeds, their spread, the per-seed errors,
    curves, seconds and epochs, and the landscape's checksum. Returns the best mean (inf if
    none)."""
    grid, points, best = landscape.grid, [], math.inf
    for i, alpha in enumerate(grid.alphas):
        for j, epsilon in enumerate(grid.epsilons):
            node = node_at(i, j)
            finite = [e for e in node.errors if e is not None]
            mean = statistics.fmean(finite) if finite else None
            best = min(best, mean) if mean is not None else best
            points.append(
                LandscapePoint(
                    landscape_id=landscape.id,
                    alpha_index=i,
                    epsilon_index=j,
                    alpha=alpha,
                    epsilon=epsilon,
                    error=mean,
                    error_std=statistics.stdev(finite) if len(finite) > 1 else (0.0 if finite else None),
                    errors=node.errors,
                    diverged=node.diverged,
                    curves=node.curves,
                    seconds=node.seconds,
                    epochs=node.epochs,
                )
            )
    session.add_all(points)
    landscape.checksum = checksum(points)
    return best


def best_point(session: Session, landscape_id: int) -> LandscapePoint | None:
    """The landscape's best scored node by its mean score (ties: the first in grid order)."""
    return session.scalars(
        select(LandscapePoint)
        .where(LandscapePoint.landscape_id == landscape_id, LandscapePoint.error.is_not(None))
        .order_by(LandscapePoint.error, LandscapePoint.alpha_index, LandscapePoint.epsilon_index)
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Stored:
    """One stored landscape, read whole (:func:`read`): its row and its nodes. Every view of a
    landscape is made from this one shape: the mean scores and per-seed errors as arrays
    (``errors``, ``seed_errors``), its learning curves, the nodes successive halving stopped, the
    replay engine's :class:`~tunecost.service.analysis.replay.Board` (``board``) and the API's
    :class:`~tunecost.service.analysis.landscape.LandscapeDetail` (``detail``)."""

    row: Landscape
    points: list[LandscapePoint]

    @property
    def id(self) -> int:
        return self.row.id

    @cached_property
    def metric(self) -> Metric:
        return metric_of(self.row)

    @cached_property
    def errors(self) -> np.ndarray:
        """Mean scores (alphas x epsilons); a failed or missing node scores the failure score."""
        return matrix(self.row, self.points)

    @cached_property
    def seed_errors(self) -> np.ndarray:
        """Per-seed errors (seeds x alphas x epsilons); NaN where a seed was not trained."""
        return seed_matrices(self.row, self.points)

    @property
    def e_star(self) -> float:
        return e_star(self.row, self.errors)

    @cached_property
    def curves(self) -> Curves | None:
        """The stored training per seed and node, or None for a landscape without learning
        curves (swept before they were recorded, or imported)."""
        if not self.points or any(p.curves is None for p in self.points):
            return None
        ls = self.row
        n_a, n_e = ls.grid.shape
        curves: list[list[list[list[float]]]] = [
            [[[] for _ in range(n_e)] for _ in range(n_a)] for _ in ls.seeds
        ]
        seconds = np.full((len(ls.seeds), n_a, n_e), np.nan)
        for p in self.points:
            for s, curve in enumerate(p.curves or []):
                curves[s][p.alpha_index][p.epsilon_index] = curve
            for s, sec in enumerate(p.seconds or []):
                if sec is not None:
                    seconds[s, p.alpha_index, p.epsilon_index] = sec
        return Curves(curves, seconds)

    @cached_property
    def stopped(self) -> np.ndarray | None:
        """The nodes a successive-halving sweep stopped before the last rung (alphas x epsilons,
        bool); None for a full-fidelity landscape."""
        full = self.row.full_fidelity
        if full is None:
            return None
        mask = np.zeros(self.row.grid.shape, dtype=bool)
        for p in self.points:
            mask[p.alpha_index, p.epsilon_index] = p.epochs is not None and p.epochs < full
        return mask

    def board(self, *, observed: bool) -> Board:
        """What the replay engine replays: the mean scores, the per-seed ones a searcher is told
        (``observed``: seed noise or replicates), curves, stopped nodes and e*."""
        info = OPTIMIZERS.get(self.row.optimizer)
        return Board(
            grid=self.row.grid,
            errors=self.errors,
            observed=self.seed_errors if observed else None,
            curves=self.curves,
            stopped=self.stopped,
            default_point=(info.default_alpha, info.default_epsilon) if info else None,
            failure_score=float(metric_json(self.row)["failure_score"]),
            e_star=self.e_star,
        )

    def detail(self, *, curves: bool = False) -> LandscapeDetail:
        """The landscape as the API serves it: matrices indexed [alpha][epsilon], None where a
        point failed; with ``curves``, the learning curves and seconds per seed (None if not
        recorded)."""
        ls = self.row
        n_a, n_e = ls.grid.shape
        errors: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
        stds: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
        diverged = [[0] * n_e for _ in range(n_a)]
        reached: list[list[int | None]] = [[None] * n_e for _ in range(n_a)]
        per_seed: list[list[list[float | None]]] = [[[None] * n_e for _ in range(n_a)] for _ in ls.seeds]
        learning: list[list[list[list[float]]]] = [
            [[[] for _ in range(n_e)] for _ in range(n_a)] for _ in ls.seeds
        ]
        timing: list[list[list[float | None]]] = [[[None] * n_e for _ in range(n_a)] for _ in ls.seeds]
        recorded = False
        for p in self.points:
            if curves and p.curves is not None:
                recorded = True
                for s, curve in enumerate(p.curves):
                    learning[s][p.alpha_index][p.epsilon_index] = curve
                for s, sec in enumerate(p.seconds or []):
                    timing[s][p.alpha_index][p.epsilon_index] = sec
            errors[p.alpha_index][p.epsilon_index] = p.error
            stds[p.alpha_index][p.epsilon_index] = p.error_std
            diverged[p.alpha_index][p.epsilon_index] = p.diverged
            reached[p.alpha_index][p.epsilon_index] = p.epochs
            for s, e in enumerate(p.errors):
                per_seed[s][p.alpha_index][p.epsilon_index] = e
        return LandscapeDetail(
            **summary(ls).model_dump(),
            alphas=list(ls.grid.alphas),
            epsilons=list(ls.grid.epsilons),
            errors=errors,
            error_stds=stds,
            diverged=diverged,
            epochs=reached,
            seed_errors=per_seed,
            recipe=ls.recipe,
            curves=learning if recorded else None,
            node_seconds=timing if recorded else None,
        )


def read(session: Session, ids: list[int]) -> dict[int, Stored]:
    """Landscapes by id, each read whole, in the order of ``ids`` (missing ones left out): two
    queries however many there are (the rows, then every point of them)."""
    rows = {ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(ids)))}
    points: dict[int, list[LandscapePoint]] = {i: [] for i in rows}
    if rows:
        query = select(LandscapePoint).where(LandscapePoint.landscape_id.in_(list(rows)))
        for p in session.scalars(query.order_by(LandscapePoint.id)):
            points[p.landscape_id].append(p)
    return {i: Stored(rows[i], points[i]) for i in ids if i in rows}


def read_one(session: Session, landscape_id: int) -> Stored:
    found = read(session, [landscape_id]).get(landscape_id)
    if found is None:
        raise NotFound("Landscape")
    return found


def noise_std_median(points: list[LandscapePoint]) -> float | None:
    """Median, over the points trained with more than one seed, of their spread; None if none was."""
    stds = [
        p.error_std for p in points if p.error_std is not None and sum(e is not None for e in p.errors) > 1
    ]
    return float(np.median(stds)) if stds else None


def list_landscapes(
    session: Session, *, task: str | None = None, optimizer: str | None = None
) -> list[LandscapeSummary]:
    query = select(Landscape).order_by(Landscape.id)
    if task:
        query = query.where(Landscape.task == task)
    if optimizer:
        query = query.where(Landscape.optimizer == optimizer)
    return [summary(ls) for ls in session.scalars(query)]


def detail(session: Session, landscape_id: int, *, curves: bool = False) -> LandscapeDetail:
    """``GET /v1/landscapes/{id}``: :meth:`Stored.detail` of the one landscape."""
    return read_one(session, landscape_id).detail(curves=curves)


def find_matching(
    session: Session,
    *,
    task: str,
    optimizer: str,
    recipe_hash: str,
    grid: GridSpace,
    seeds: list[int],
    refine: dict[str, Any] | None = None,
    fidelity: dict[str, Any] | None = None,
    reference: list[int] | None = None,
) -> int | None:
    """The newest stored landscape of exactly this (task, optimizer, recipe, grid, seeds,
    refinement, fidelity, fresh reference seeds: a full-fidelity request never reuses a
    successive-halving landscape)."""
    stored = session.scalars(
        select(Landscape)
        .where(Landscape.task == task, Landscape.optimizer == optimizer, Landscape.recipe_hash == recipe_hash)
        .order_by(Landscape.id.desc())
    )
    return next(
        (
            ls.id
            for ls in stored
            if ls.space == grid.to_json()
            and ls.seeds_everywhere == seeds
            and ls.refine == refine
            and same_rule(ls.fidelity, fidelity)
            and (ls.reference or {}).get("seeds") == reference
        ),
        None,
    )
