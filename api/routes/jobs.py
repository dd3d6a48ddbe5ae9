"""/v1/jobs: submit, list, read, cancel; a job's trials and its curve (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response, status
from pydantic import BaseModel

from tunecost.api.deps import Offset, PathId, SessionDep, SettingsDep, WriterDep, is_admin
from tunecost.api.schemas import CurvePoint, CurvePublic, JobPublic, JobsPublic, TrialPublic, TrialsPublic
from tunecost.service import jobs as job_service
from tunecost.service.db import Session
from tunecost.service.kinds import Limits
from tunecost.service.kinds.search.spec import EXAMPLE as SEARCH_EXAMPLE
from tunecost.service.models import Job
from tunecost.service.states import JobState

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


def _public(session: Session, job: Job) -> JobPublic:
    return JobPublic.from_job(job, job_service.progress(session, [job])[job.id])


router = APIRouter(prefix="/jobs", tags=["jobs"])


def submit_router(job_spec: Any) -> APIRouter:
    """``POST /jobs``, whose body is every registered kind's spec tagged by ``kind``
    (:func:`tunecost.service.kinds.spec_union`, taken when the app is created)."""
    submit = APIRouter(prefix="/jobs", tags=["jobs"])

    def submit_job(
        session: SessionDep,
        settings: SettingsDep,
        owner: WriterDep,
        spec: BaseModel,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=255,
                pattern=r"^[\x21-\x7e]+$",
                description="A client's unique key for this submission: sent again with the same job "
                "(a retry), it returns the job the first one queued instead of queueing another; "
                "with a different job, a 409.",
            ),
        ] = None,
    ) -> JobPublic:
        """Queue a job; a runner picks it up. Bad input is a 422 whose `loc` names the field."""
        job = job_service.create_job(
            session,
            spec,
            owner=owner,
            limits=Limits(budget_cap=settings.budget_cap, grid_cap=settings.grid_cap),
            idempotency_key=idempotency_key,
        )
        return _public(session, job)

    # The body's type is known only now (the kinds registered when the app is made), and this
    # module's annotations are strings: give FastAPI the object itself.
    submit_job.__annotations__["spec"] = Annotated[job_spec, Body(openapi_examples=_EXAMPLES)]
    submit.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=JobPublic,
        summary="Submit a tuning job",
        responses={
            401: {"description": "Token missing"},
            403: {"description": "Wrong token"},
            409: {"description": "Idempotency-Key already used for a different job"},
        },
    )(submit_job)

    return submit


@router.get("", response_model=JobsPublic, summary="List jobs, newest first")
def list_jobs(
    session: SessionDep,
    state: JobState | None = None,
    task: str | None = None,
    optimizer: str | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsPublic:
    jobs, count = job_service.list_jobs(
        session, state=state, task=task, optimizer=optimizer, offset=offset, limit=limit
    )
    progress = job_service.progress(session, jobs)
    data = [JobPublic.from_job(j, progress[j.id]) for j in jobs]
    return JobsPublic(data=data, count=count, offset=offset, limit=limit)


@router.get("/{job_id}", response_model=JobPublic, responses={404: {"description": "Job not found"}})
def get_job(session: SessionDep, job_id: PathId) -> JobPublic:
    return _public(session, job_service.get_job(session, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses={
        403: {"description": "Job belongs to another token"},
        404: {"description": "Job not found"},
        409: {"description": "Job already finished"},
    },
)
def cancel_job(session: SessionDep, settings: SettingsDep, caller: WriterDep, job_id: PathId) -> JobPublic:
    """A queued job is cancelled at once; a running one is stopped (see the README). Only the
    token that submitted it, or an admin token, may cancel it (403 otherwise)."""
    return _public(
        session, job_service.cancel_job(session, job_id, caller=caller, admin=is_admin(settings, caller))
    )


@router.get(
    "/{job_id}/trials", response_model=TrialsPublic, responses={404: {"description": "Job not found"}}
)
def list_trials(session: SessionDep, job_id: PathId) -> TrialsPublic:
    """Every answered proposal, cached answers and failed trials included, in order."""
    trials = job_service.list_trials(session, job_id)
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
    session: SessionDep,
    job_id: PathId,
    format: Literal["json", "csv"] | None = None,  # noqa: A002 - the query parameter's public name
    accept: Annotated[str | None, Header()] = None,
) -> CurvePublic | Response:
    """Suboptimality vs trials: one point per distinct evaluated config (cached answers excluded)."""
    job = job_service.get_job(session, job_id)
    points = job_service.curve(session, job_id)
    if format == "csv" or (format is None and accept and "text/csv" in accept):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CurvePoint.model_fields), lineterminator="\n")
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
