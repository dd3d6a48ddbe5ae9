"""/v1/jobs: submit, list, read, cancel; a job's trials and its curve (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response, status

from api.deps import SettingsDep, UrlDep, WriterDep
from api.schemas import CurvePoint, CurvePublic, JobPublic, JobsPublic, TrialPublic, TrialsPublic
from service import jobs as job_service
from service.models import Job, JobState
from service.specs import SEARCH_EXAMPLE, JobSpec

router = APIRouter(prefix="/jobs", tags=["jobs"])

_EXAMPLES = {
    "tpe": {
        "summary": "12 TPE trials of Adam on digits-mlp over the paper's grid",
        "value": SEARCH_EXAMPLE,
    },
    "box": {
        "summary": "CMA-ES on a continuous log box, 2 trials at a time, e* given",
        "value": {
            "kind": "search",
            "task": "digits-mlp",
            "optimizer": "amsgrad",
            "searcher": "cmaes",
            "budget": 20,
            "space": {"type": "box", "alpha": [1e-5, 1.0], "epsilon": [1e-8, 1.0]},
            "max_concurrent": 2,
            "resources": {"cpu": 1, "gpu": 0},
            "reference_error": 2.5,
        },
    },
    "sweep": {
        "summary": "Sweep the paper's 21x21 grid for Adam on digits-mlp: a landscape",
        "value": {"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "seeds": [0]},
    },
    "replay": {
        "summary": "Replay all six searchers x 100 seeds on stored landscapes",
        "value": {
            "kind": "replay",
            "landscape_ids": [1, 2],
            "searchers": ["grid", "random", "tpe", "cmaes", "gld", "cgld"],
            "seeds": 100,
            "budget": 100,
        },
    },
    "one-point": {
        "summary": "Train exactly one (alpha, epsilon)",
        "value": {
            "kind": "search",
            "task": "digits-mlp",
            "optimizer": "adam",
            "searcher": "random",
            "budget": 1,
            "space": {"type": "grid", "alphas": [0.001], "epsilons": [1e-8]},
        },
    },
}


def _public(url: str, job: Job) -> JobPublic:
    done, best = job_service.progress(url, [job.id])[job.id]
    return JobPublic.from_job(job, trials_done=done, best=best)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    summary="Submit a tuning job",
    responses={401: {"description": "Token missing"}, 403: {"description": "Wrong token"}},
)
def submit_job(
    url: UrlDep,
    settings: SettingsDep,
    owner: WriterDep,
    spec: Annotated[JobSpec, Body(openapi_examples=_EXAMPLES)],
) -> JobPublic:
    """Queue a job; a runner picks it up. Bad input is a 422 whose `loc` names the field."""
    return _public(url, job_service.create_job(url, spec, owner=owner, budget_cap=settings.budget_cap))


@router.get("", response_model=JobsPublic, summary="List jobs, newest first")
def list_jobs(
    url: UrlDep,
    state: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query()] = None,
    task: str | None = None,
    optimizer: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsPublic:
    jobs, count = job_service.list_jobs(
        url, state=state, task=task, optimizer=optimizer, offset=offset, limit=limit
    )
    progress = job_service.progress(url, [j.id for j in jobs])
    data = [JobPublic.from_job(j, trials_done=progress[j.id][0], best=progress[j.id][1]) for j in jobs]
    return JobsPublic(data=data, count=count, offset=offset, limit=limit)


@router.get("/{job_id}", response_model=JobPublic, responses={404: {"description": "Job not found"}})
def get_job(url: UrlDep, job_id: int) -> JobPublic:
    return _public(url, job_service.get_job(url, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses={404: {"description": "Job not found"}, 409: {"description": "Job already finished"}},
)
def cancel_job(url: UrlDep, _owner: WriterDep, job_id: int) -> JobPublic:
    """A queued job is cancelled at once; a running one stops after its running trials."""
    return _public(url, job_service.cancel_job(url, job_id))


@router.get(
    "/{job_id}/trials", response_model=TrialsPublic, responses={404: {"description": "Job not found"}}
)
def list_trials(url: UrlDep, job_id: int) -> TrialsPublic:
    """Every answered proposal, cached answers and failed trials included, in order."""
    trials = job_service.list_trials(url, job_id)
    return TrialsPublic(data=[TrialPublic.from_trial(t) for t in trials], count=len(trials))


@router.get(
    "/{job_id}/curve",
    response_model=CurvePublic,
    responses={
        404: {"description": "Job not found"},
        200: {
            "content": {"text/csv": {}},
            "description": "JSON, or CSV with `?format=csv` / `Accept: text/csv`",
        },
    },
)
def get_curve(
    url: UrlDep,
    job_id: int,
    format: Literal["json", "csv"] | None = None,  # noqa: A002 - the query parameter's public name
    accept: Annotated[str | None, Header()] = None,
) -> CurvePublic | Response:
    """Suboptimality vs trials: one point per distinct evaluated config (cached answers excluded)."""
    job = job_service.get_job(url, job_id)
    points = [
        CurvePoint(
            trial=t.number or 0,
            alpha=t.alpha,
            epsilon=t.epsilon,
            error=t.error,
            best_so_far=t.best_so_far,
            suboptimality=t.suboptimality,
            diverged=t.diverged,
        )
        for t in job_service.curve(url, job_id)
    ]
    if format == "csv" or (format is None and accept and "text/csv" in accept):
        buffer = io.StringIO()
        fields = list(CurvePoint.model_fields)
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for p in points:
            writer.writerow(p.model_dump())
        return Response(buffer.getvalue(), media_type="text/csv")
    return CurvePublic(
        job_id=job.id,
        state=job.state,
        reference_error=job.reference_error,
        reference_source=job.reference_source,
        points=points,
    )


__all__ = ["router", "JobState"]
