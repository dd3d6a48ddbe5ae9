"""The job runner: claims queued jobs under a lease and dispatches them to their kind.

Claiming is a compare-and-set ``UPDATE ... WHERE state = 'queued'`` (on Postgres the
candidate is first picked with ``FOR UPDATE SKIP LOCKED``), so two runners never take the
same job. A running job's runner renews ``heartbeat_at``; a job whose heartbeat is older
than ``lease_seconds`` (its runner died) is claimed again and its kind resumes it. What a
job does is its kind's business (:mod:`tunecost.service.kinds`); the runner knows none of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import or_, select, update

from tunecost.service import kinds
from tunecost.service.db import session_scope
from tunecost.service.errors import one_line
from tunecost.service.jobs import study_name_for
from tunecost.service.models import Job, utcnow
from tunecost.service.settings import Settings
from tunecost.service.states import JobState

log = logging.getLogger(__name__)

# (job id, units done, units in all or None): trials, configs or runs, as the kind counts them
ProgressCallback = Callable[[int, int, int | None], None]


class LeaseLost(RuntimeError):
    pass


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        runner_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.settings = settings
        self.on_progress = on_progress
        self.url = settings.resolved_database_url
        self.runner_id = runner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._shutting_down = threading.Event()
        self._current_stop: threading.Event | None = None

    def stop_current(self) -> None:
        """Shutting down: stop the job in hand soon and hand it back to the queue (not cancelled:
        it resumes on the next runner with its finished trials)."""
        self._shutting_down.set()
        if self._current_stop is not None:
            self._current_stop.set()

    # --- claiming ---
    def claim_next(self, attempts: int = 5) -> Job | None:
        """Take one queued job, or one whose runner stopped heartbeating; None if there is none.

        A candidate another runner takes between our read and our update is skipped and the
        next one tried (up to ``attempts`` races lost in a row)."""
        for _ in range(attempts):
            now = utcnow()
            stale_before = now - timedelta(seconds=self.settings.lease_seconds)
            claimable = or_(
                Job.state == JobState.QUEUED,
                (Job.state == JobState.RUNNING) & (Job.heartbeat_at < stale_before),
            )
            with session_scope(self.url) as session:
                candidate = session.scalars(
                    select(Job).where(claimable).order_by(Job.id).limit(1).with_for_update(skip_locked=True)
                ).first()
                if candidate is None:
                    return None
                resumed = candidate.state == JobState.RUNNING  # its runner stopped heartbeating
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == candidate.id, claimable)
                    .values(
                        state=JobState.RUNNING,
                        runner_id=self.runner_id,
                        heartbeat_at=now,
                        started_at=candidate.started_at or now,
                        attempts=Job.attempts + 1,
                    )
                ).rowcount
                if claimed:
                    session.flush()
                    session.refresh(candidate)
                    log.info(
                        "job %s %s: claimed by %s (attempt %d%s)",
                        candidate.id,
                        _subject(candidate),
                        self.runner_id,
                        candidate.attempts,
                        "; its last runner stopped heartbeating, resuming" if resumed else "",
                    )
                    return candidate
        return None

    def heartbeat(self, job_id: int) -> bool:
        """Renew the lease; returns whether cancellation was requested. Raises LeaseLost."""
        with session_scope(self.url) as session:
            renewed = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.runner_id == self.runner_id, Job.state == JobState.RUNNING)
                .values(heartbeat_at=utcnow())
            ).rowcount
            if not renewed:
                raise LeaseLost(f"job {job_id} is no longer ours")
            return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def _release(self, job_id: int) -> None:
        """Give a job back to the queue; the next runner resumes it."""
        log.info("job %s: handed back to the queue (runner shutting down)", job_id)
        with session_scope(self.url) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.runner_id == self.runner_id, Job.state == JobState.RUNNING)
                .values(state=JobState.QUEUED, runner_id=None, heartbeat_at=None)
            )

    def _finish(
        self, job_id: int, state: JobState, *, error: str | None = None, result: BaseModel | None = None
    ) -> None:
        with session_scope(self.url) as session:
            job = session.get(Job, job_id)
            if job is not None:
                took = (utcnow() - job.started_at).total_seconds() if job.started_at else 0.0
                log.info(
                    "job %s %s: %s after %.1f s%s",
                    job_id,
                    _subject(job),
                    state,
                    took,
                    f": {error}" if error else "",
                )
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.runner_id == self.runner_id)
                .values(
                    state=state,
                    finished_at=utcnow(),
                    error=error,
                    result=None if result is None else result.model_dump(mode="json"),
                )
            )

    # --- running ---
    def run_once(self) -> int | None:
        """Claim and run one job to the end; returns its id, or None if none was queued."""
        job = self.claim_next()
        if job is None:
            return None
        self.run_job(job)
        return job.id

    def run_until(self, job_id: int) -> Job:
        """Run queued jobs, oldest first, until job ``job_id`` has finished (or nothing is left
        to claim); returns that job's row. For the embedded commands (study, quickstart)."""
        while (claimed := self.claim_next()) is not None:
            self.run_job(claimed)
            if claimed.id == job_id:
                break
        with session_scope(self.url) as session:
            job = session.get(Job, job_id)
            if job is None:
                raise LookupError(f"job {job_id} vanished while it ran")
            return job

    def run_forever(self, stop: threading.Event) -> None:
        log.info("runner %s polling %s", self.runner_id, self.url)
        while not stop.is_set() and not self._shutting_down.is_set():
            try:
                ran = self.run_once()
            except Exception:  # keep serving: one broken job must not stop the runner
                log.exception("runner loop error")
                ran = None
            if ran is None:
                stop.wait(self.settings.poll_seconds)

    def run_job(self, job: Job) -> None:
        """Run a claimed job through its kind, under a heartbeat, and record how it ended."""
        stop_event = threading.Event()
        lease_lost = threading.Event()
        done = threading.Event()

        def beat() -> None:
            interval = max(0.2, min(5.0, self.settings.lease_seconds / 4))
            while not done.wait(interval):
                try:
                    if self.heartbeat(job.id):
                        stop_event.set()
                except LeaseLost:
                    lease_lost.set()
                    stop_event.set()
                except Exception:
                    log.exception("heartbeat failed for job %s", job.id)

        beater = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        beater.start()
        self._current_stop = stop_event
        if self._shutting_down.is_set():
            stop_event.set()
        try:
            kind = kinds.get(job.kind)
            spec = kind.parse_spec(job.spec)
            ctx = kinds.RunContext(
                url=self.url,
                settings=self.settings,
                job_id=job.id,
                study_name=job.study_name or study_name_for(job.id),
                attempt=job.attempts,
                stop=stop_event,
                on_progress=self._progress_for(job.id),
            )
            result = kind.run(ctx, spec)
            interrupted = stop_event.is_set()  # cancelled, lease lost, or this runner shutting down
            if not interrupted:
                result, outcome = kind.finish(ctx, spec, result)
        except Exception as exc:
            done.set()
            log.exception("job %s failed", job.id)  # the traceback goes to the log, one line to the row
            self._finish(job.id, JobState.FAILED, error=one_line(exc))
            return
        finally:
            done.set()
            beater.join()
            self._current_stop = None
        if not interrupted:
            self._finish(job.id, outcome.state, error=outcome.error, result=result)
        elif lease_lost.is_set():
            log.warning("job %s: lease lost to another runner; leaving it", job.id)
        elif self._shutting_down.is_set():
            self._release(job.id)
        else:
            self._finish(job.id, JobState.CANCELLED, result=result)

    def _progress_for(self, job_id: int) -> Callable[[int, int | None], None]:
        """A job's progress reports, to ``on_progress`` and to the log (at most every
        :data:`PROGRESS_EVERY` seconds, and at the end)."""
        callback = self.on_progress
        last = [0.0]

        def report(done: int, total: int | None = None) -> None:
            if callback is not None:
                callback(job_id, done, total)
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or (total is not None and done >= total):
                last[0] = now
                log.info("job %s: %d of %s done", job_id, done, "?" if total is None else total)

        return report


PROGRESS_EVERY = 30.0  # seconds between a running job's progress lines in the log


def _subject(job: Job) -> str:
    """``sweep digits-mlp/adam``, ``replay`` : what a log line is about."""
    return " ".join([job.kind, "/".join(p for p in (job.task, job.optimizer, job.searcher) if p)]).strip()
