"""A landscape measured elsewhere (a paper's table, another benchmark) brought in through
``POST /v1/landscapes``: its request body (:class:`LandscapeImport`, validated like any input)
and :func:`import_landscape`, which stores it as a landscape a replay reads like a swept one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session

from tunecost.search_spaces import GridSpace
from tunecost.service.analysis.landscape import LandscapeSummary
from tunecost.service.landscapes import NodeRecord, add_points, provenance, summary
from tunecost.service.models import Landscape
from tunecost.service.specs import recipe_hash
from tunecost.workers.catalog import METRICS, TASKS, Metric

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
