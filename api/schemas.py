"""Response schemas, in families: ``JobPublic`` / ``JobsPublic``, ``TrialPublic`` / ``TrialsPublic``.

Request bodies are the job kinds' own specs (:mod:`tunecost.service.kinds`), so the API and the
runner validate a job the same way. Read models the service already types (curve points,
best configs, landscapes, comparisons) are served as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tunecost.service import kinds
from tunecost.service.analysis.comparison import Comparison
from tunecost.service.analysis.landscape import LandscapeDetail, LandscapeSummary
from tunecost.service.bests import BestConfig
from tunecost.service.jobs import CurvePoint
from tunecost.service.kinds import BestPoint, Progress
from tunecost.service.landscape_import import LandscapeImport
from tunecost.service.models import Job, Trial
from tunecost.service.specs import task_metric
from tunecost.service.states import JobState

__all__ = [
    "BestConfigPublic",
    "CatalogPublic",
    "Comparison",
    "CurvePoint",
    "CurvePublic",
    "Health",
    "JobPublic",
    "JobsPublic",
    "LandscapeDetail",
    "LandscapeImport",
    "LandscapeSummary",
    "TrialPublic",
    "TrialsPublic",
]


class JobPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "kind": "search",
                    "state": "succeeded",
                    "task": "digits-mlp",
                    "optimizer": "adam",
                    "searcher": "tpe",
                    "budget": 12,
                    "trials_done": 12,
                    "study_name": "tunecost-job-1 (search, digits-mlp, adam, tpe)",
                }
            ]
        }
    )

    id: int
    kind: str
    state: JobState
    task: str | None = Field(description="The task a search or sweep trains; null for a replay.")
    optimizer: str | None = Field(description="Its optimizer; null for a replay.")
    searcher: str | None
    budget: int | None
    trials_done: int = Field(
        description="What the job has done so far, in `unit`: a search, its distinct configs; a sweep, "
        "the grid nodes trained with every seed of its first pass (once its landscape is stored, the "
        "nodes with a score); a replay, its runs stored."
    )
    total: int | None = Field(
        None,
        description="What `trials_done` counts towards: a search's budget, a sweep's grid nodes, a replay's runs.",
    )
    unit: str = Field("trials", description="What `trials_done` counts: `trials`, `nodes` or `runs`.")
    missing: int | None = Field(
        None,
        description="A sweep: grid nodes not yet trained with every seed of its first pass (0 once "
        "its landscape is stored; a sweep claimed again trains only what is missing); null for "
        "other kinds.",
    )
    study_name: str | None = Field(description="The job's Optuna study (open it in optuna-dashboard).")
    spec: dict[str, Any]
    owner: str | None
    runner_id: str | None = Field(description="The runner that holds (or held) the job's lease.")
    cancel_requested: bool
    reference_error: float | None = Field(description="e* used for suboptimality.")
    reference_source: str | None = Field(
        description="Where e* came from: 'user' (reference_error), 'landscape' (a stored landscape's "
        "best node measured on fresh seeds), 'best-known' (the lowest score any run reached) or "
        "'own best' (this job's own: its suboptimality reaches 0 by construction)."
    )
    best: BestPoint | None = Field(
        description="Best (alpha, epsilon, error, trial) of the job so far: a search's best trial; a "
        "sweep's best grid node by its mean over seeds (`trial` null); null for a replay."
    )
    metric: dict[str, Any] | None = Field(
        None,
        description="What its `error` values measure: the task's metric (name, unit, kind, "
        "delta_unit, failure_score); null for a replay.",
    )
    landscape_id: int | None = Field(None, description="A sweep job's landscape, once stored.")
    report_url: str | None = Field(
        None, description="A replay job's report page (verdicts, table, figures), relative to the server."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the job will do that its spec may not suggest (a TPE search within its random start).",
    )
    result: dict[str, Any] | None = Field(
        description="The kind's typed result as JSON (search: SearchResult, sweep: SweepResult, replay: ReplayResult)."
    )
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @classmethod
    def from_job(cls, job: Job, progress: Progress) -> JobPublic:
        links = kinds.links(job)
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            task=job.task,
            optimizer=job.optimizer,
            searcher=job.searcher,
            budget=job.spec.get("budget"),
            trials_done=progress.trials_done,
            warnings=kinds.warnings(job),
            total=progress.total,
            unit=progress.unit,
            missing=progress.missing,
            study_name=job.study_name,
            spec=job.spec,
            owner=job.owner,
            runner_id=job.runner_id,
            cancel_requested=job.cancel_requested,
            reference_error=job.reference_error,
            reference_source=job.reference_source,
            best=progress.best,
            metric=task_metric(job.task),
            landscape_id=links.landscape_id,
            report_url=links.report_url,
            result=job.result,
            error=job.error,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            heartbeat_at=job.heartbeat_at,
        )


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="Jobs matching the filters, over all pages.")
    offset: int
    limit: int


class TrialPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int = Field(description="Order in which the searcher's proposals were answered.")
    number: int | None = Field(description="Trial count (1, 2, ...); null for cached answers.")
    seed: int
    alpha: float
    epsilon: float
    error: float | None = Field(
        description="The task's score (validation error in percent for a classifier)."
    )
    val_loss: float | None
    train_loss: float | None
    status: str
    cached: bool
    diverged: bool
    seconds: float | None
    best_so_far: float | None
    suboptimality: float | None = Field(description="best_so_far - e*, percentage points.")
    optuna_trial_number: int | None
    node_id: str | None = Field(description="The Ray node that trained it.")
    message: str | None
    created_at: datetime

    @classmethod
    def from_trial(cls, trial: Trial) -> TrialPublic:
        return cls.model_validate(trial)


class TrialsPublic(BaseModel):
    data: list[TrialPublic]
    count: int


class CurvePublic(BaseModel):
    job_id: int
    state: JobState
    reference_error: float | None
    reference_source: str | None
    points: list[CurvePoint]


class BestConfigPublic(BestConfig):
    metric: dict[str, Any] | None = Field(None, description="What `error` measures: the task's metric.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "alpha": 0.005,
                    "epsilon": 1e-06,
                    "error": 2.43,
                    "job_id": 1,
                    "trial": 9,
                    "trials_considered": 12,
                }
            ]
        }
    )


class CatalogPublic(BaseModel):
    tasks: list[dict[str, Any]]
    optimizers: list[dict[str, Any]]
    searchers: list[dict[str, Any]]
    spaces: dict[str, dict[str, Any]]
    recipe_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Recipe options that work with every optimizer: what they do and whether sweeps stay fused.",
    )
    schedulers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Ray Tune schedulers a `search` job takes (`scheduler`): name, the class it builds, options with bounds.",
    )
    pruners: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Optuna pruners a `replay` job takes (`pruner`), on stored learning curves: name, class, options.",
    )
    plugin_errors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Installed plugin entries that failed to load or cannot work (group, name, source, "
        "error, and `field`: the entry's field at fault, where one is); left out of the catalog.",
    )


class Health(BaseModel):
    status: str
    database: str
    version: str
