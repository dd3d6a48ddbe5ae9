"""What searchers cost on stored landscapes: statistics over a replay job's runs (hand-written
analysis; the definitions are docs/ARCHITECTURE.md's "Tuning cost")."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import landscapes as landscape_service
from service.errors import NotFound
from service.kinds.replay import delta_key
from service.models import Job, Landscape, ReplayLandscape, ReplayRun
from service.states import JobState


class LandscapeFacts(BaseModel):
    landscape_id: int
    task: str
    optimizer: str
    best_error: float = Field(description="e*: the landscape's best mean error (%).")
    seeds: list[int]
    noise_std_median: float | None = Field(
        description="Median spread over training seeds; null for one seed."
    )
    share_within: dict[str, float] = Field(description="delta -> share of configs within delta of e*.")
    random_expected_trials: dict[str, float] = Field(
        description="delta -> expected trials of random search without repeats to reach delta."
    )


class TuningCostRow(BaseModel):
    landscape_id: int
    optimizer: str
    searcher: str
    delta: float
    median: float | None = Field(description="Median trials to reach delta; null: not within the budget.")
    q25: float | None
    q75: float | None
    mean: float | None = Field(description="Over the seeds that reach delta.")
    std: float | None
    success_rate: float = Field(description="Share of seeds that reach delta within the budget.")
    seeds: int
    budget: int


class CurveBand(BaseModel):
    landscape_id: int
    optimizer: str
    searcher: str
    median: list[float] = Field(description="Suboptimality after t = 1, 2, ... trials.")
    q25: list[float]
    q75: list[float]


class Comparison(BaseModel):
    """Tuning cost per (optimizer, searcher, delta), median/IQR curves, and landscape facts."""

    job_id: int
    deltas: list[float]
    rows: list[TuningCostRow]
    curves: list[CurveBand]
    landscapes: list[LandscapeFacts]

    def facts(self, landscape_id: int) -> LandscapeFacts:
        return next(f for f in self.landscapes if f.landscape_id == landscape_id)


def share_within(errors: np.ndarray, delta: float) -> float:
    """Share of the landscape's configs within delta of its best: random search's odds per trial."""
    return float((errors <= errors.min() + delta + 1e-9).mean())


def expected_random_cost(errors: np.ndarray, delta: float) -> float:
    """Expected trials for random search without repeats to hit one of m good configs among N: (N+1)/(m+1)."""
    n = errors.size
    m = int((errors <= errors.min() + delta + 1e-9).sum())
    return (n + 1) / (m + 1)


def _row_stats(values: list[int | None]) -> dict[str, float | None]:
    reached = [v for v in values if v is not None]
    censored = np.array([v if v is not None else math.inf for v in values], dtype=float)
    q25, med, q75 = (float(x) for x in np.percentile(censored, [25, 50, 75], method="lower"))

    def finite(x: float) -> float | None:
        return None if math.isinf(x) else x

    return {
        "median": finite(med),
        "q25": finite(q25),
        "q75": finite(q75),
        "mean": float(np.mean(reached)) if reached else None,
        "std": float(np.std(reached, ddof=1)) if len(reached) > 1 else (0.0 if reached else None),
        "success_rate": len(reached) / len(values) if values else 0.0,
    }


def _replay_job(session: Session, job_id: int | None, task: str | None) -> Job:
    """The replay job ``job_id``, or the newest succeeded replay covering ``task``."""
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None or job.kind != "replay":
            raise NotFound("Replay job")
        return job
    if task is None:
        raise NotFound("Replay job")
    newest = session.scalars(
        select(Job)
        .join(ReplayLandscape, ReplayLandscape.job_id == Job.id)
        .join(Landscape, Landscape.id == ReplayLandscape.landscape_id)
        .where(Job.kind == "replay", Job.state == JobState.SUCCEEDED, Landscape.task == task)
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        raise NotFound("Replay job")
    return newest


def compare(
    session: Session,
    *,
    job_id: int | None = None,
    task: str | None = None,
    optimizers: list[str] | None = None,
    searchers: list[str] | None = None,
    deltas: list[float] | None = None,
) -> Comparison:
    """Tuning cost per (optimizer, searcher, delta), with median/IQR curves and landscape facts.

    By ``job_id`` (a replay job), or by ``task`` (+ ``optimizers``): then the newest replay
    job covering that task is used.
    """
    job = _replay_job(session, job_id, task)
    deltas = [float(d) for d in deltas] if deltas else [float(d) for d in job.spec["deltas"]]
    linked = list(
        session.scalars(
            select(ReplayLandscape.landscape_id)
            .where(ReplayLandscape.job_id == job.id)
            .order_by(ReplayLandscape.position)
        )
    )
    loaded = landscape_service.load(session, linked)
    if task:
        loaded = {i: v for i, v in loaded.items() if v[0].task == task}
    if optimizers:
        loaded = {i: v for i, v in loaded.items() if v[0].optimizer in optimizers}
    query = select(ReplayRun).where(ReplayRun.job_id == job.id, ReplayRun.landscape_id.in_(list(loaded)))
    if searchers:
        query = query.where(ReplayRun.searcher.in_(searchers))
    runs = list(session.scalars(query.order_by(ReplayRun.landscape_id, ReplayRun.searcher, ReplayRun.seed)))

    facts = [
        LandscapeFacts(
            landscape_id=i,
            task=ls.task,
            optimizer=ls.optimizer,
            best_error=float(errors.min()),
            seeds=ls.seeds,
            noise_std_median=landscape_service.noise_std_median(session, ls),
            share_within={delta_key(d): share_within(errors, d) for d in deltas},
            random_expected_trials={delta_key(d): expected_random_cost(errors, d) for d in deltas},
        )
        for i, (ls, errors) in loaded.items()
    ]

    rows, curves = [], []
    groups: dict[tuple[int, str], list[ReplayRun]] = {}
    for r in runs:
        groups.setdefault((r.landscape_id, r.searcher), []).append(r)
    for (landscape_id, searcher), group in sorted(
        groups.items(), key=lambda kv: (loaded[kv[0][0]][0].optimizer, kv[0][1])
    ):
        optimizer = loaded[landscape_id][0].optimizer
        budget = group[0].budget
        for d in deltas:
            values = [r.trials_to.get(delta_key(d)) for r in group]
            rows.append(
                TuningCostRow(
                    landscape_id=landscape_id,
                    optimizer=optimizer,
                    searcher=searcher,
                    delta=d,
                    seeds=len(values),
                    budget=budget,
                    **_row_stats(values),
                )
            )
        length = max(len(r.curve) for r in group)
        padded = np.array([r.curve + [r.curve[-1]] * (length - len(r.curve)) for r in group])
        q25, med, q75 = np.percentile(padded, [25, 50, 75], axis=0)
        curves.append(
            CurveBand(
                landscape_id=landscape_id,
                optimizer=optimizer,
                searcher=searcher,
                median=med.tolist(),
                q25=q25.tolist(),
                q75=q75.tolist(),
            )
        )
    return Comparison(job_id=job.id, deltas=deltas, rows=rows, curves=curves, landscapes=facts)
