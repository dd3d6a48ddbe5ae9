"""The job runner: claims queued jobs under a lease and drives Ray.

Claiming is a compare-and-set ``UPDATE ... WHERE state = 'queued'`` (on Postgres the
candidate is first picked with ``FOR UPDATE SKIP LOCKED``), so two runners never
take the same job. A running job's runner renews ``heartbeat_at``; a job whose
heartbeat is older than ``lease_seconds`` (its runner died) is claimed again and
resumes where its finished trials left off.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from service import jobs as job_service
from service.db import session_scope
from service.models import Job, JobState, Trial, utcnow
from service.settings import Settings
from service.specs import ReplaySpec, SearchSpec, SweepSpec

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    pass


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        runner_id: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_progress = on_progress  # (job_id, trials done), called as trials finish
        self.url = settings.resolved_database_url
        self.runner_id = runner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

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

    def _finish(
        self, job_id: int, state: str, *, error: str | None = None, result: dict | None = None
    ) -> None:
        with session_scope(self.url) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.runner_id == self.runner_id)
                .values(state=state, finished_at=utcnow(), error=error, result=result)
            )

    # --- running ---
    def run_once(self) -> int | None:
        """Claim and run one job to the end; returns its id, or None if none was queued."""
        job = self.claim_next()
        if job is None:
            return None
        self.run_job(job)
        return job.id

    def run_forever(self, stop: threading.Event) -> None:
        log.info("runner %s polling %s", self.runner_id, self.url)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # keep serving: one broken job must not stop the runner
                log.exception("runner loop error")
                ran = None
            if ran is None:
                stop.wait(self.settings.poll_seconds)

    def run_job(self, job: Job) -> None:
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
        try:
            result = self._execute(job, stop_event)
        except Exception as exc:
            done.set()
            log.exception("job %s failed", job.id)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self._finish(job.id, JobState.FAILED, error=detail[:4000])
            return
        finally:
            done.set()
            beater.join()
        if lease_lost.is_set():
            log.warning("job %s: lease lost to another runner; leaving it", job.id)
            return
        if stop_event.is_set():
            self._finish(job.id, JobState.CANCELLED, result=result)
            return
        if job.kind != "search":
            self._finish(job.id, JobState.SUCCEEDED, result=result)
            return
        result.update(self._finalize_curve(job))
        if result.get("trained", 0) == 0 and result.get("resumed_from", 0) == 0:
            self._finish(
                job.id, JobState.FAILED, error=result.get("first_error") or "no trial finished", result=result
            )
        else:
            self._finish(job.id, JobState.SUCCEEDED, result=result)

    def _execute(self, job: Job, stop_event: threading.Event) -> dict[str, Any]:
        from service.ray_session import ensure_ray

        ensure_ray(self.settings)
        progress = (lambda done, total=None: self.on_progress(job.id, done)) if self.on_progress else None
        if job.kind == "sweep":
            from service.sweep_runner import run_sweep

            spec = SweepSpec.model_validate(job.spec)
            return run_sweep(
                url=self.url,
                job_id=job.id,
                spec=spec,
                stop_event=stop_event,
                data_dir=str(self.settings.data_dir),
                on_progress=progress,
            )
        if job.kind == "replay":
            from service.replay import run_replay

            return run_replay(
                url=self.url,
                job_id=job.id,
                spec=ReplaySpec.model_validate(job.spec),
                stop_event=stop_event,
                on_progress=progress,
            )
        if job.kind != "search":
            raise ValueError(f"unknown job kind {job.kind!r}")
        from service.search_runner import run_search

        spec = SearchSpec.model_validate(job.spec)
        result = run_search(
            url=self.url,
            job_id=job.id,
            study_name=job.study_name or job_service.study_name_for(job.id),
            spec=spec,
            reference_error=job.reference_error,
            stop_event=stop_event,
            results_dir=str(self.settings.ray_results_dir),
            data_dir=str(self.settings.data_dir),
            on_progress=progress,
        )
        if result.get("failed") and not result.get("trained"):
            with session_scope(self.url) as session:
                first = session.scalars(
                    select(Trial.message).where(Trial.job_id == job.id, Trial.message.is_not(None)).limit(1)
                ).first()
            result["first_error"] = first
        return result

    def _finalize_curve(self, job: Job) -> dict[str, Any]:
        """Fill suboptimality against the best known error when the user gave no e*."""
        with session_scope(self.url) as session:
            row = session.get(Job, job.id)
            if row is None:  # deleted while it ran: nothing to finalize
                return {}
            if row.reference_source != "user":
                e_star = job_service.best_known_error(self.url, row.task, row.optimizer, row.recipe_hash)
                row.reference_error, row.reference_source = e_star, "best-known"
            e_star = row.reference_error
            trials = list(
                session.scalars(select(Trial).where(Trial.job_id == job.id).order_by(Trial.position))
            )
            for t in trials:
                t.suboptimality = (
                    None if (t.best_so_far is None or e_star is None) else t.best_so_far - e_star
                )
            counted = [t for t in trials if t.number is not None and t.error is not None]
            best = min(counted, key=lambda t: (t.error, t.number), default=None)
            out: dict[str, Any] = {
                "trials": len(counted),
                "cached": sum(t.cached for t in trials),
                "diverged": sum(t.diverged for t in counted),
                "reference_error": e_star,
            }
            if best is not None:
                out["best"] = {
                    "alpha": best.alpha,
                    "epsilon": best.epsilon,
                    "error": best.error,
                    "trial": best.number,
                }
            return out
