"""The job-kind contract: what every kind is (:class:`JobKind`) and what it is handed
(:class:`RunContext`, :class:`Limits`) and returns (:class:`Progress`, :class:`Links`,
:class:`Outcome`). Kinds import this module, never the registry (:mod:`tunecost.service.kinds.registry`),
which names them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tunecost.service.errors import InvalidField
from tunecost.service.models import Job
from tunecost.service.settings import Settings
from tunecost.service.states import JobState

SpecT = TypeVar("SpecT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass(frozen=True)
class Limits:
    """The server's limits a spec is admitted under."""

    budget_cap: int | None = None
    grid_cap: int | None = None

    def check_budget(self, budget: int) -> None:
        if self.budget_cap is not None and budget > self.budget_cap:
            raise InvalidField("budget", f"{budget} is over this server's cap of {self.budget_cap}")

    def check_grid(self, size: float) -> None:
        """A grid of ``size`` nodes (inf: a continuous box, which has no nodes to cap)."""
        if self.grid_cap is not None and size != float("inf") and size > self.grid_cap:
            raise InvalidField(
                "space", f"{int(size)} grid nodes is over this server's cap of {self.grid_cap}"
            )


@dataclass
class RunContext:
    """What a running job may use. ``attempt`` > 1 means a resume after a runner died."""

    url: str
    settings: Settings
    job_id: int
    study_name: str
    attempt: int
    stop: threading.Event  # set on cancellation or a lost lease: stop soon, keep what is done
    on_progress: Callable[[int, int | None], None] | None = None  # (done, total)

    def progress(self, done: int, total: int | None = None) -> None:
        if self.on_progress is not None:
            self.on_progress(done, total)


class BestPoint(BaseModel):
    alpha: float
    epsilon: float
    error: float
    trial: int | None = Field(
        description="Its trial number (distinct configs, from 1); null for a grid node."
    )
    optuna_trial: int | None = Field(
        None,
        description="The same trial's number in the job's Optuna study (from 0, cached answers counted).",
    )


class Progress(BaseModel):
    """What a job has evaluated so far (``trials_done``: distinct configs, or grid nodes) and the best of it."""

    trials_done: int = 0
    best: BestPoint | None = None
    missing: int | None = None  # a sweep: grid nodes not yet trained with every first-pass seed
    total: int | None = None  # what trials_done counts towards: a budget, grid nodes, replay runs
    unit: str = "trials"  # what trials_done counts: trials, nodes or runs


class Links(BaseModel):
    """Where a job's product is, for the faces to link to."""

    landscape_id: int | None = Field(None, description="The landscape a sweep stored.")
    report_url: str | None = Field(None, description="A replay's report page.")


@dataclass(frozen=True)
class Outcome:
    state: JobState
    error: str | None = None


class JobKind(Generic[SpecT, ResultT]):
    """The contract of a job kind. Subclasses set ``name``, ``spec_model``, ``result_model``
    and implement :meth:`run`; the other methods have defaults."""

    name: ClassVar[str]
    spec_model: ClassVar[type[BaseModel]]
    result_model: ClassVar[type[BaseModel]]

    def parse_spec(self, data: dict[str, Any]) -> SpecT:
        return self.spec_model.model_validate(data)  # type: ignore[return-value]

    def admit(self, session: Session, job: Job, spec: SpecT, limits: Limits) -> None:
        """Checks that need the database or the server's limits (raise ``InvalidField``), and
        the job's subject: its ``task``, ``optimizer``, ``searcher``, ``recipe_hash`` columns
        or its link rows. ``job`` is flushed (it has an id) and uncommitted."""

    def total(self, spec: SpecT) -> int | None:
        """Units of progress the job reports (trials, configs, runs), if known up front."""
        return None

    def run(self, ctx: RunContext, spec: SpecT) -> ResultT:
        raise NotImplementedError

    def finish(self, ctx: RunContext, spec: SpecT, result: ResultT) -> tuple[ResultT, Outcome]:
        """After :meth:`run` returned without cancellation: the final result and state."""
        return result, Outcome(JobState.SUCCEEDED)

    def progress(self, session: Session, job: Job) -> Progress | None:
        """The job's progress and best, for a kind that does not record trials; None: count
        its trials (``tunecost.service.bests.trial_progress``)."""
        return None

    def result_of(self, job: Job) -> ResultT | None:
        """The job's stored ``result``, read through :attr:`result_model`; None before it has one."""
        return None if job.result is None else self.result_model.model_validate(job.result)  # type: ignore[return-value]

    def links(self, job: Job) -> Links:
        """Where the job's product is (its landscape, its report); none by default."""
        return Links()

    def warnings(self, job: Job) -> list[str]:
        """What a user should know of a job that is valid but may not do what its spec suggests."""
        return []
