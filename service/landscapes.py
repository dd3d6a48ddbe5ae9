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
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from tunecost.search_spaces import GridSpace
from tunecost.service import VERSION
from tunecost.service.analysis.fidelity import same_rule
from tunecost.service.analysis.landscape import LandscapeDetail, LandscapeSummary
from tunecost.service.analysis.replay import Board, Curves
from tunecost.service.errors import NotFound
from tunecost.service.models import Landscape, LandscapePoint
from tunecost.service.specs import recipe_hash
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


NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
MAX_IMPORT_NODES = 10_000  # alphas x epsilons of an import (the paper's grid is 441)
MAX_IMPORT_SCORES = 50_000  # nodes x seeds: what one request may write
Score = Annotated[float, Field(allow_inf_nan=False)]


class LandscapeImport(BaseModel):
    """A landscape measured elsewhere (a paper's table, another benchmark), replayable like a
    swept one. Scores are indexed [alpha][epsilon]; one matrix, or one per training seed
    ([seed][alpha][epsilon]); null where a point is missing (it then scores `failure_score`).
    What they measure is the task's metric for a tunecost task, else `metric`: validation error
    in percent (0 to 100, the default) or a mean squared error (0 or more)."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(pattern=NAME, description="The task it was measured on; need not be a tunecost task.")
    optimizer: str = Field(pattern=NAME, description="The optimizer; need not be a tunecost optimizer.")
    metric: Literal["error", "mse"] | None = Field(
        None, description="`error` (validation error, %) or `mse`; default: the task's metric, else `error`."
    )
    failure_score: Score | None = Field(
        None,
        description="What a missing (null) point scores; default: the task's diverged score, else 100 "
        "for `error`. Needed for `mse` with missing points on a task tunecost does not know.",
    )
    alphas: list[Annotated[float, Field(gt=0)]] = Field(min_length=1, max_length=1000)
    epsilons: list[Annotated[float, Field(gt=0)]] = Field(min_length=1, max_length=1000)
    errors: list[list[Score | None]] | list[list[list[Score | None]]] = Field(
        description="[alpha][epsilon], or [seed][alpha][epsilon], in the metric's unit."
    )
    seeds: list[int] | None = Field(None, description="Names of the seeds (default 0, 1, ...).")
    source: str = Field("", max_length=500, description="Where the numbers come from (a citation, a URL).")

    @field_validator("alphas", "epsilons")
    @classmethod
    def _grid_values(cls, value: list[float], info: ValidationInfo) -> list[float]:
        try:
            GridSpace(tuple(value), (1.0,)) if info.field_name == "alphas" else GridSpace(
                (1.0,), tuple(value)
            )
        except ValueError as exc:
            raise ValueError(str(exc).split(": ", 1)[-1]) from None
        return value

    @field_validator("epsilons")
    @classmethod
    def _bounded_grid(cls, value: list[float], info: ValidationInfo) -> list[float]:
        nodes = len(info.data.get("alphas") or []) * len(value)
        if nodes > MAX_IMPORT_NODES:
            raise ValueError(
                f"alphas x epsilons is {nodes:,} nodes; an import holds at most {MAX_IMPORT_NODES:,}"
            )
        return value

    @field_validator("errors")
    @classmethod
    def _shape(cls, value: list[Any], info: ValidationInfo) -> list[list[list[float | None]]]:
        # one matrix per seed when any cell is a list (an empty first row says nothing)
        per_seed = value if any(isinstance(cell, list) for row in value for cell in row) else [value]
        if len(per_seed) > 20:
            raise ValueError("at most 20 seeds")
        scores = sum(len(row) for rows in per_seed for row in rows)
        if scores > MAX_IMPORT_SCORES:
            raise ValueError(
                f"{scores:,} scores; an import holds at most {MAX_IMPORT_SCORES:,} (nodes x seeds)"
            )
        if "alphas" in info.data and "epsilons" in info.data:
            shape = (len(info.data["alphas"]), len(info.data["epsilons"]))
            for s, rows in enumerate(per_seed):
                if len(rows) != shape[0] or any(len(row) != shape[1] for row in rows):
                    raise ValueError(f"seed {s}: needs {shape[0]} rows (alphas) of {shape[1]} (epsilons)")
        if "task" not in info.data or "metric" not in info.data or "failure_score" not in info.data:
            return per_seed  # reported on those fields
        metric = _import_metric(info.data["task"], info.data["metric"])
        low, high = metric.bounds
        for s, rows in enumerate(per_seed):
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    if value is not None and not (low <= value and (high is None or value <= high)):
                        raise ValueError(
                            f"seed {s}, alpha {i}, epsilon {j}: {value:g} is outside "
                            f"[{low:g}, {'inf' if high is None else f'{high:g}'}], the range of {metric.name}"
                        )
        if _import_failure(info.data["task"], metric, info.data["failure_score"]) is None and any(
            v is None for rows in per_seed for row in rows for v in row
        ):
            raise ValueError("null points need `failure_score`: what a missing point of this metric scores")
        return per_seed

    @field_validator("metric")
    @classmethod
    def _task_metric(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = TASKS.get(info.data.get("task", ""))
        if known is not None and value is not None and value != known.metric.kind:
            raise ValueError(
                f"task {known.name} scores {known.metric.kind} ({known.metric.name}), not {value}"
            )
        return value

    @field_validator("seeds")
    @classmethod
    def _seed_names(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        if value is not None and "errors" in info.data and len(value) != len(info.data["errors"]):
            raise ValueError(f"{len(value)} seeds for {len(info.data['errors'])} matrices")
        if value is not None and len(set(value)) != len(value):
            raise ValueError("seeds must be distinct")
        return value

    def stored_metric(self) -> dict[str, Any]:
        metric = _import_metric(self.task, self.metric)
        return {**metric.to_json(), "failure_score": _import_failure(self.task, metric, self.failure_score)}


def _import_metric(task: str, kind: str | None) -> Metric:
    known = TASKS.get(task)
    return known.metric if known is not None else METRICS[kind or "error"]


def _import_failure(task: str, metric: Metric, given: float | None) -> float | None:
    if given is not None:
        return given
    known = TASKS.get(task)
    if known is not None:
        return known.failure_score
    return 100.0 if metric.kind == "error" else None


def import_landscape(session: Session, spec: LandscapeImport) -> LandscapeSummary:
    """Store an imported landscape; it is replayed and compared exactly like a swept one."""
    grid = GridSpace(tuple(spec.alphas), tuple(spec.epsilons))  # sorted: the matrices follow
    rows = [spec.alphas.index(a) for a in grid.alphas]
    cols = [spec.epsilons.index(e) for e in grid.epsilons]
    given: list[list[list[float | None]]] = spec.errors  # type: ignore[assignment] - normalized
    per_seed = [[[m[i][j] for j in cols] for i in rows] for m in given]
    seeds = spec.seeds if spec.seeds is not None else list(range(len(per_seed)))
    recipe = {"source": spec.source}
    landscape = Landscape(
        job_id=None,
        task=spec.task,
        optimizer=spec.optimizer,
        recipe_hash=recipe_hash(spec.task, {"import": recipe}),
        recipe=recipe,
        space=grid.to_json(),
        seeds=seeds,
        sweep_seeds=seeds,
        fused=False,
        provenance=provenance("import"),
        metric=spec.stored_metric(),
    )
    session.add(landscape)
    session.flush()
    add_points(session, landscape, lambda i, j: NodeRecord([m[i][j] for m in per_seed]))
    session.flush()
    return summary(landscape)
