"""The service's session-taking functions, each in its own ``session_scope`` — for tests that
act as a caller outside a request (the CLI and the runner do the same)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tunecost.service import comparisons
from tunecost.service import jobs as job_service
from tunecost.service.db import session_scope
from tunecost.service.models import Job, SweepPair, Trial


def create_job(url: str, spec: BaseModel, **kwargs: Any) -> Job:
    with session_scope(url) as session:
        return job_service.create_job(session, spec, **kwargs)


def get_job(url: str, job_id: int) -> Job:
    with session_scope(url) as session:
        return job_service.get_job(session, job_id)


def list_jobs(url: str, **filters: Any) -> tuple[list[Job], int]:
    with session_scope(url) as session:
        return job_service.list_jobs(session, **filters)


def cancel_job(url: str, job_id: int) -> Job:
    with session_scope(url) as session:
        return job_service.cancel_job(session, job_id)


def list_trials(url: str, job_id: int) -> list[Trial]:
    with session_scope(url) as session:
        return job_service.list_trials(session, job_id)


def curve(url: str, job_id: int) -> list[Trial]:
    """The rows behind a job's curve: one per distinct evaluated config, in order."""
    return [t for t in list_trials(url, job_id) if t.number is not None]


def compare(url: str, **kwargs: Any) -> comparisons.Comparison:
    with session_scope(url) as session:
        return comparisons.compare(session, **kwargs)


def sweep_pairs(url: str, job_id: int) -> list[SweepPair]:
    """The (seed, node) pairs a sweep job has stored."""
    with session_scope(url) as session:
        return list(session.query(SweepPair).filter_by(job_id=job_id).order_by(SweepPair.id))
