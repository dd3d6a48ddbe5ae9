"""Job lifecycle: create, list, read, cancel; trials, curves and best configs.

Everything here reads the materialized ``tunecost_*`` rows, never Optuna's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from service.db import session_scope
from service.errors import Conflict, InvalidField, NotFound
from service.models import Job, JobState, Landscape, Trial, TrialStatus, utcnow
from service.specs import ReplaySpec, SearchSpec, SweepSpec


def study_name_for(job_id: int) -> str:
    return f"tunecost-job-{job_id}"


def create_job(
    url: str,
    spec: SearchSpec | SweepSpec | ReplaySpec,
    *,
    owner: str | None = None,
    budget_cap: int | None = None,
) -> Job:
    """Queue a job. ``budget_cap`` is the server's limit (``TUNECOST_BUDGET_CAP``)."""
    budget = getattr(spec, "budget", None)
    if budget_cap is not None and budget is not None and budget > budget_cap:
        raise InvalidField("budget", f"{budget} is over this server's cap of {budget_cap}")
    if isinstance(spec, ReplaySpec):
        task, optimizer, searcher, recipe = _replay_subject(url, spec)
    else:
        task, optimizer, recipe = spec.task, spec.optimizer, spec.recipe_hash
        searcher = spec.searcher if isinstance(spec, SearchSpec) else None
    with session_scope(url) as session:
        job = Job(
            kind=spec.kind,
            state=JobState.QUEUED,
            task=task,
            optimizer=optimizer,
            searcher=searcher,
            recipe_hash=recipe,
            spec=spec.model_dump(mode="json"),
            owner=owner,
            reference_error=getattr(spec, "reference_error", None),
            reference_source="user" if getattr(spec, "reference_error", None) is not None else None,
            cancel_requested=False,
            attempts=0,
            created_at=utcnow(),
        )
        session.add(job)
        session.flush()
        job.study_name = study_name_for(job.id)
        return job


def _replay_subject(url: str, spec: ReplaySpec) -> tuple[str, str, str, str]:
    """(task, optimizers, searchers, recipe hash) of a replay, checking its landscapes exist and fit."""
    with session_scope(url) as session:
        found = {
            ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(spec.landscape_ids)))
        }
    missing = [i for i in spec.landscape_ids if i not in found]
    if missing:
        raise InvalidField("landscape_ids", f"no landscape {missing[0]}")
    smallest = min(len(ls.space["alphas"]) * len(ls.space["epsilons"]) for ls in found.values())
    if spec.budget > smallest:
        raise InvalidField(
            "budget", f"{spec.budget} exceeds the {smallest} configs of the smallest landscape"
        )
    tasks = sorted({ls.task for ls in found.values()})
    optimizers = sorted({ls.optimizer for ls in found.values()})
    recipes = sorted({ls.recipe_hash for ls in found.values()})
    return ",".join(tasks), ",".join(optimizers), ",".join(spec.searchers), ",".join(recipes)[:16]


def get_job(url: str, job_id: int) -> Job:
    with session_scope(url) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound("Job")
        return job


def list_jobs(
    url: str,
    *,
    state: str | None = None,
    task: str | None = None,
    optimizer: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Job], int]:
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    if task:
        query = query.where(Job.task == task)
    if optimizer:
        query = query.where(Job.optimizer == optimizer)
    with session_scope(url) as session:
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        jobs = list(session.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit)))
        return jobs, count


def cancel_job(url: str, job_id: int) -> Job:
    """Queued jobs are cancelled at once; a running job is asked to stop (its runner ends it)."""
    with session_scope(url) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound("Job")
        if job.state in JobState.FINISHED:
            raise Conflict(f"Job already {job.state}")
        # Conditional updates: a runner may claim the job between our read and write.
        cancelled = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(state=JobState.CANCELLED, finished_at=utcnow(), cancel_requested=True)
        ).rowcount
        if not cancelled:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.RUNNING)
                .values(cancel_requested=True)
            )
        session.flush()
        session.refresh(job)
        return job


def list_trials(url: str, job_id: int) -> list[Trial]:
    with session_scope(url) as session:
        if session.get(Job, job_id) is None:
            raise NotFound("Job")
        return list(session.scalars(select(Trial).where(Trial.job_id == job_id).order_by(Trial.position)))


def curve(url: str, job_id: int) -> list[Trial]:
    """The suboptimality-vs-trials curve: one point per distinct evaluated config."""
    return [t for t in list_trials(url, job_id) if t.number is not None]


@dataclass(frozen=True)
class BestConfig:
    alpha: float
    epsilon: float
    error: float
    job_id: int
    trial: int | None
    trials_considered: int

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def best_config(url: str, task: str, optimizer: str, *, recipe_hash: str | None = None) -> BestConfig:
    """Lowest validation error over every finished, non-cached trial of (task, optimizer)."""
    conditions = [
        Job.task == task,
        Job.optimizer == optimizer,
        Trial.status == TrialStatus.COMPLETE,
        Trial.cached.is_(False),
        Trial.error.is_not(None),
    ]
    if recipe_hash:
        conditions.append(Job.recipe_hash == recipe_hash)
    with session_scope(url) as session:
        base = select(Trial).join(Job, Trial.job_id == Job.id).where(*conditions)
        best = session.scalars(base.order_by(Trial.error, Trial.diverged, Trial.id).limit(1)).first()
        if best is None:
            raise NotFound("Finished trial")
        considered = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        return BestConfig(best.alpha, best.epsilon, best.error, best.job_id, best.number, considered)


def best_known_error(url: str, task: str, optimizer: str, recipe_hash: str) -> float | None:
    """e* for a job without a user-given reference: the best error any job reached on this recipe."""
    try:
        return best_config(url, task, optimizer, recipe_hash=recipe_hash).error
    except NotFound:
        return None


def progress(url: str, job_ids: list[int]) -> dict[int, tuple[int, dict[str, Any] | None]]:
    """Per job: distinct configs evaluated so far and the best of them (one query per call)."""
    if not job_ids:
        return {}
    out: dict[int, tuple[int, dict[str, Any] | None]] = {i: (0, None) for i in job_ids}
    with session_scope(url) as session:
        counts = session.execute(
            select(Trial.job_id, func.count())
            .where(Trial.job_id.in_(job_ids), Trial.number.is_not(None))
            .group_by(Trial.job_id)
        ).all()
        for job_id, n in counts:
            out[job_id] = (n, None)
        ranked = (
            select(
                Trial.job_id,
                Trial.alpha,
                Trial.epsilon,
                Trial.error,
                Trial.number,
                func.row_number()
                .over(partition_by=Trial.job_id, order_by=(Trial.error, Trial.number))
                .label("rank"),
            )
            .where(Trial.job_id.in_(job_ids), Trial.number.is_not(None), Trial.error.is_not(None))
            .subquery()
        )
        for job_id, alpha, epsilon, error, number, _rank in session.execute(
            select(ranked).where(ranked.c.rank == 1)
        ):
            out[job_id] = (
                out[job_id][0],
                {"alpha": alpha, "epsilon": epsilon, "error": error, "trial": number},
            )
    return out
