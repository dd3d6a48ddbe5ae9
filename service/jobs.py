"""Job lifecycle: create, list, read, cancel; trials, curves and best configs.

Every function takes the caller's SQLAlchemy session (one per request in the API, one
``session_scope`` in the CLI and the runner) and leaves committing to it. Everything here
reads the materialized ``tunecost_*`` rows, never Optuna's tables.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tunecost.service import kinds
from tunecost.service.bests import trial_progress
from tunecost.service.errors import Conflict, Forbidden, NotFound
from tunecost.service.kinds import Progress
from tunecost.service.models import Job, Landscape, ReplayLandscape, Trial, utcnow
from tunecost.service.states import FINISHED, JobState


def study_name_for(job_id: int, job: Job | None = None) -> str:
    """``tunecost-job-3 (search, digits-mlp, adam, tpe)``: the job's Optuna study, named so the
    dashboard's study list says what each one is (the list shows names only)."""
    subject = [] if job is None else [s for s in (job.kind, job.task, job.optimizer, job.searcher) if s]
    return f"tunecost-job-{job_id}" + (f" ({', '.join(subject)})" if subject else "")


class CurvePoint(BaseModel):
    """One point of a job's suboptimality-vs-trials curve."""

    trial: int
    alpha: float
    epsilon: float
    error: float | None
    best_so_far: float | None
    suboptimality: float | None
    diverged: bool

    @classmethod
    def of(cls, t: Trial) -> CurvePoint:
        return cls(
            trial=t.number or 0,
            alpha=t.alpha,
            epsilon=t.epsilon,
            error=t.error,
            best_so_far=t.best_so_far,
            suboptimality=t.suboptimality,
            diverged=t.diverged,
        )


def _idempotency_digest(owner: str | None, key: str) -> str:
    return hashlib.sha256(f"{owner or ''}\n{key}".encode()).hexdigest()


def find_idempotent(session: Session, spec: BaseModel, owner: str | None, key: str) -> Job | None:
    """The job an earlier submission with this ``Idempotency-Key`` (from the same owner) made,
    or None; a :class:`Conflict` when that submission asked for something else."""
    job = session.scalars(select(Job).where(Job.idempotency_key == _idempotency_digest(owner, key))).first()
    if job is not None and job.spec != spec.model_dump(mode="json"):
        raise Conflict("Idempotency-Key already used for a different job")
    return job


def create_job(
    session: Session,
    spec: BaseModel,
    *,
    owner: str | None = None,
    limits: kinds.Limits | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a job of ``spec.kind``; the kind admits it (database checks, subject, link rows).
    With ``idempotency_key``, a second submission of the same job by the same owner returns the
    first one's job (:func:`find_idempotent`) instead of queueing another."""
    if idempotency_key is not None:
        earlier = find_idempotent(session, spec, owner, idempotency_key)
        if earlier is not None:
            return earlier
    kind = kinds.get(spec.kind)  # type: ignore[attr-defined] - every kind's spec has its tag
    job = Job(
        kind=kind.name,
        state=JobState.QUEUED,
        spec=spec.model_dump(mode="json"),
        owner=owner,
        idempotency_key=None if idempotency_key is None else _idempotency_digest(owner, idempotency_key),
        cancel_requested=False,
        attempts=0,
        created_at=utcnow(),
    )
    session.add(job)
    try:
        session.flush()
    except IntegrityError:  # the same key in two requests at once: the other one is queueing it
        if idempotency_key is None:
            raise
        raise Conflict("A submission with this Idempotency-Key is in progress; retry it") from None
    kind.admit(session, job, spec, limits or kinds.Limits())
    job.study_name = study_name_for(job.id, job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("Job")
    return job


def list_jobs(
    session: Session,
    *,
    state: JobState | None = None,
    task: str | None = None,
    optimizer: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Job], int]:
    """Jobs newest first. ``task``/``optimizer`` also match replays through their landscapes."""
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    for column, value in (("task", task), ("optimizer", optimizer)):
        if value:
            via_landscape = exists().where(
                ReplayLandscape.job_id == Job.id,
                ReplayLandscape.landscape_id == Landscape.id,
                getattr(Landscape, column) == value,
            )
            query = query.where(or_(getattr(Job, column) == value, via_landscape))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    jobs = list(session.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit)))
    return jobs, count


def cancel_job(session: Session, job_id: int, *, caller: str | None = None, admin: bool = False) -> Job:
    """Queued jobs are cancelled at once; a running job is asked to stop (its runner ends it).

    With auth on, ``caller`` names the token: a job belongs to the token that submitted it, and
    only that token or an admin token may cancel it."""
    job = get_job(session, job_id)
    if caller is not None and not admin and job.owner != caller:
        raise Forbidden("Job belongs to another token")
    if job.state in FINISHED:
        raise Conflict(f"Job already {job.state}")
    # Conditional updates: a runner may claim the job between our read and write.
    cancelled = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(state=JobState.CANCELLED, finished_at=utcnow(), cancel_requested=True)
    ).rowcount
    if not cancelled:
        session.execute(
            update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING).values(cancel_requested=True)
        )
    session.flush()
    session.refresh(job)
    return job


def list_trials(session: Session, job_id: int) -> list[Trial]:
    get_job(session, job_id)
    return list(session.scalars(select(Trial).where(Trial.job_id == job_id).order_by(Trial.position)))


def curve(session: Session, job_id: int) -> list[CurvePoint]:
    """The suboptimality-vs-trials curve: one point per distinct evaluated config."""
    return [CurvePoint.of(t) for t in list_trials(session, job_id) if t.number is not None]


def progress(session: Session, jobs: list[Job]) -> dict[int, Progress]:
    """Per job: what it has evaluated so far and the best of it. By default a job's distinct
    trials (:func:`tunecost.service.bests.trial_progress`); a kind that keeps no trials says its own
    (``JobKind.progress``)."""
    out = trial_progress(session, jobs)
    for job in jobs:
        own = kinds.get(job.kind).progress(session, job)
        if own is not None:
            out[job.id] = own
    return out
