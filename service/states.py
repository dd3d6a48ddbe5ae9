"""Job and trial states: defined once, here (no SQLAlchemy, so the client can import them)."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class TrialStatus(StrEnum):
    COMPLETE = "complete"
    FAILED = "failed"
    PRUNED = "pruned"  # stopped early by the job's scheduler
