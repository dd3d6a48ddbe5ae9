"""The ``search`` kind: live tuning. Each trial trains ``task`` with ``optimizer`` at the
searcher's (alpha, epsilon); the run is a Ray Tune experiment (:mod:`tunecost.service.tune_search`).

Resume: a job whose runner died keeps its finished trials; the next attempt reloads its
Optuna study and trains only the remaining budget. Finish: suboptimality is filled against
the best known error when the user gave no e*; a job in which no trial finished fails with
the first trial's error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tunecost.search_spaces import SpaceError, build_sampler, validate_options
from tunecost.service.kinds.base import BestPoint
from tunecost.service.specs import (
    SPEC_CONFIG,
    OptimizerName,
    Resources,
    SearcherName,
    Seed,
    SpaceField,
    TaskName,
    TrainsOneTask,
    alpha_alone,
    default_space,
)
from tunecost.workers.catalog import TASKS

EXAMPLE = {
    "kind": "search",
    "task": "digits-mlp",
    "optimizer": "adam",
    "searcher": "tpe",
    "budget": 12,
    "seed": 0,
}


class SchedulerSpec(BaseModel):
    """A Ray Tune trial scheduler for a live search: it reads each trial's per-epoch reports."""

    model_config = SPEC_CONFIG

    name: Literal["asha", "hyperband", "median"] = Field(
        description="`asha`: ray.tune.schedulers.ASHAScheduler; `hyperband`: HyperBandScheduler; "
        "`median`: MedianStoppingRule."
    )
    grace_period: int = Field(1, ge=1, le=10_000, description="Epochs a trial runs before it may be stopped.")
    reduction_factor: int = Field(3, ge=2, le=100, description="asha, hyperband: keep 1/eta at each rung.")

    def build(self, max_epochs: int, metric: str) -> Any:
        return _SCHEDULERS[self.name](self, max_epochs, metric)


# name -> (the Ray Tune class it builds, the SchedulerSpec options it reads); the catalog lists these
SCHEDULERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "asha": ("ray.tune.schedulers.ASHAScheduler", ("grace_period", "reduction_factor")),
    "hyperband": ("ray.tune.schedulers.HyperBandScheduler", ("reduction_factor",)),
    "median": ("ray.tune.schedulers.MedianStoppingRule", ("grace_period",)),
}


def _scheduler(name: str) -> Any:
    # Ray: only where a search runs, never in the API process
    from ray.tune import schedulers

    return getattr(schedulers, SCHEDULERS[name][0].rpartition(".")[2])


_COMMON = {"time_attr": "training_iteration", "mode": "min"}
_SCHEDULERS: dict[str, Callable[[SchedulerSpec, int, str], Any]] = {
    "asha": lambda s, max_t, metric: _scheduler("asha")(
        **_COMMON,
        metric=metric,
        max_t=max_t,
        grace_period=s.grace_period,
        reduction_factor=s.reduction_factor,
    ),
    "hyperband": lambda s, max_t, metric: _scheduler("hyperband")(
        **_COMMON, metric=metric, max_t=max_t, reduction_factor=s.reduction_factor
    ),
    "median": lambda s, max_t, metric: _scheduler("median")(
        **_COMMON, metric=metric, grace_period=s.grace_period, min_samples_required=3
    ),
}


class SearchSpec(TrainsOneTask):
    """A live tuning job: each trial trains ``task`` with ``optimizer`` at the searcher's (alpha, epsilon)."""

    model_config = ConfigDict(**SPEC_CONFIG, json_schema_extra={"examples": [EXAMPLE]})

    kind: Literal["search"] = "search"
    task: TaskName = Field(description="A task from `GET /v1/catalog`, e.g. `digits-mlp`.")
    optimizer: OptimizerName = Field(description="An optimizer from the catalog, e.g. `adam`.")
    searcher: SearcherName = Field("tpe", description="A searcher from the catalog, e.g. `tpe`.")
    searcher_options: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Searcher options (see the catalog)."
    )
    space: SpaceField = Field(
        None,  # type: ignore[assignment] - filled by the validator: the optimizer's default grid
        validate_default=True,
        description="Search space; default the paper's 21x21 grid (AdaBelief: its shifted grid).",
    )
    budget: int = Field(gt=0, strict=True, description="Distinct (alpha, epsilon) configs to train.")
    seed: Seed = Field(0, description="Seeds the searcher and the training run (0 to 2^31 - 1).")
    recipe: dict[str, Any] = Field(
        default_factory=dict,
        validate_default=True,
        description="Overrides of the task's recipe (see the task's `recipe_schema` in the catalog).",
    )
    resources: Resources = Field(default_factory=Resources)
    max_concurrent: int = Field(1, ge=1, le=256, description="Trials running at once.")
    max_failures: int = Field(1, ge=0, le=10, description="Retries of a trial that raised.")
    reference_error: float | None = Field(
        None,
        ge=0,
        le=100,
        description="e*, the best achievable error (%), for suboptimality; default: best known.",
    )
    scheduler: SchedulerSpec | None = Field(
        None,
        description="Stop poor trials early with a Ray Tune scheduler acting on each epoch's "
        "validation score; a stopped trial is recorded `pruned` and uses its slot of the budget.",
    )

    # Field validators run in field order and see earlier valid fields in `info.data`,
    # so every error carries the name of the field it is about.
    @field_validator("searcher_options")
    @classmethod
    def _valid_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "searcher" not in info.data:
            return value
        try:
            return validate_options(info.data["searcher"], value)
        except SpaceError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("space", mode="wrap")
    @classmethod
    def _valid_space(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        space = alpha_alone(
            info.data.get("optimizer", ""),
            handler(value if value is not None else default_space(info.data.get("optimizer", ""))),
        )
        if "searcher" in info.data and "searcher_options" in info.data:
            try:  # a dry run: catches searcher/space mismatches (grid search on a box) at submit time
                build_sampler(
                    info.data["searcher"],
                    space,
                    seed=0,
                    options=info.data["searcher_options"],
                    default_point=(1e-3, 1e-8),
                )
            except SpaceError as exc:
                raise ValueError(str(exc)) from None
        return space

    @field_validator("scheduler")
    @classmethod
    def _trained_task(cls, value: SchedulerSpec | None, info: ValidationInfo) -> SchedulerSpec | None:
        task = TASKS.get(info.data.get("task", ""))
        if value is not None and task is not None and task.analytic:
            raise ValueError(f"{task.name} is not trained epoch by epoch: nothing to stop early")
        return value

    @field_validator("budget")
    @classmethod
    def _budget_fits_space(cls, value: int, info: ValidationInfo) -> int:
        space = info.data.get("space")
        if space is not None and value > space.size:
            raise ValueError(f"{value} exceeds the {space.size} distinct configs of the space")
        return value


class SearchResult(BaseModel):
    """A search job's ``result``: what ran, what was cached or failed, the best and e*."""

    study_name: str | None = None
    resumed_from: int = Field(0, description="Trials kept from an earlier attempt.")
    trained: int = Field(0, description="Distinct configs trained, over all attempts.")
    failed: int = Field(0, description="Trials that raised after their retries.")
    searcher_exhausted: bool = Field(False, description="The space was used up or the searcher stalled.")
    trials: int = 0
    cached: int = Field(0, description="Re-proposals answered from the job's cache.")
    diverged: int = 0
    reference_error: float | None = Field(None, description="e* the curve was scored against.")
    best: BestPoint | None = None
    first_error: str | None = Field(None, description="The first trial's error, when none finished.")
