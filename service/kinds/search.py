"""The ``search`` kind: live tuning. Each trial trains ``task`` with ``optimizer`` at the
searcher's (alpha, epsilon); the run is a Ray Tune experiment (:mod:`service.tune_search`).

Resume: a job whose runner died keeps its finished trials; the next attempt reloads its
Optuna study and trains only the remaining budget. Finish: suboptimality is filled against
the best known error when the user gave no e*; a job in which no trial finished fails with
the first trial's error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from search_spaces import SpaceError, build_sampler, validate_options
from service import jobs as job_service
from service.db import session_scope
from service.kinds import BestPoint, JobKind, Limits, Outcome, RunContext
from service.models import Job, Trial
from service.specs import (
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
from service.states import JobState
from workers.catalog import TASKS

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


class SearchKind(JobKind[SearchSpec, SearchResult]):
    name = "search"
    spec_model = SearchSpec
    result_model = SearchResult

    def warnings(self, job: Job) -> list[str]:
        """A model-based searcher whose budget is within its random start: TPE's first
        ``n_startup_trials`` (10 by default) are random, so a TPE search of 6 trials is a random
        search of 6 (the same configs, for the same seed). A job whose e* is its own best."""
        spec = job.spec
        out = []
        if job.reference_source == "own best":
            out.append(
                "e* is this job's own best (no reference_error, and no other run or landscape of this "
                "task, optimizer and recipe): its suboptimality reaches 0 by construction. Give "
                "reference_error, or sweep a landscape with a fresh-seed reference, to measure it."
            )
        startup = (spec.get("searcher_options") or {}).get("n_startup_trials")
        if (
            spec.get("searcher") in ("tpe", "cmaes")
            and startup is not None
            and spec.get("budget", 0) <= startup
        ):
            out.append(
                f"{spec['searcher']}: its first {startup} trials (searcher_options.n_startup_trials) are "
                f"random, and the budget is {spec['budget']}: this search is a random search. Lower "
                f"n_startup_trials or raise the budget for {spec['searcher']} to model anything."
            )
        return out

    def admit(self, session: Session, job: Job, spec: SearchSpec, limits: Limits) -> None:
        limits.check_budget(spec.budget)
        limits.check_grid(spec.space.size)
        job.task, job.optimizer, job.searcher = spec.task, spec.optimizer, spec.searcher
        job.recipe_hash = spec.recipe_hash
        if spec.reference_error is not None:
            job.reference_error, job.reference_source = spec.reference_error, "user"

    def total(self, spec: SearchSpec) -> int:
        return spec.budget

    def run(self, ctx: RunContext, spec: SearchSpec) -> SearchResult:
        # Ray Tune is imported only where a job runs, never in the API process.
        from service.ray_session import check_placeable, ensure_ray
        from service.tune_search import run_search

        ensure_ray(ctx.settings)
        check_placeable(spec.resources.cpu, spec.resources.gpu, "trial")
        return SearchResult(study_name=ctx.study_name, **asdict(run_search(ctx, spec)))

    def finish(self, ctx: RunContext, spec: SearchSpec, result: SearchResult) -> tuple[SearchResult, Outcome]:
        """Fill suboptimality against the best known error when the user gave no e*."""
        with session_scope(ctx.url) as session:
            row = session.get(Job, ctx.job_id)
            if row is None:  # deleted while it ran: nothing to finalize
                return result, Outcome(JobState.SUCCEEDED)
            if row.reference_source != "user":
                row.reference_error, row.reference_source = job_service.best_known_error(
                    session, spec.task, spec.optimizer, spec.recipe_hash, job_id=ctx.job_id
                )
            e_star = row.reference_error
            trials = list(
                session.scalars(select(Trial).where(Trial.job_id == ctx.job_id).order_by(Trial.position))
            )
            for t in trials:
                t.suboptimality = (
                    None if (t.best_so_far is None or e_star is None) else t.best_so_far - e_star
                )
            counted = [t for t in trials if t.number is not None and t.error is not None]
            session.flush()
            best = job_service.progress(session, [row])[
                row.id
            ].best  # the one rule: lowest error, earliest trial
            result = result.model_copy(
                update={
                    "trials": len(counted),
                    "cached": sum(t.cached for t in trials),
                    "diverged": sum(t.diverged for t in counted),
                    "reference_error": e_star,
                    "best": best,
                }
            )
            if result.trained == 0 and result.resumed_from == 0:
                first = next((t.message for t in trials if t.message), None)
                result = result.model_copy(update={"first_error": first})
                return result, Outcome(JobState.FAILED, first or "no trial finished")
        return result, Outcome(JobState.SUCCEEDED)


KIND = SearchKind()
