"""/v1/landscapes and /v1/comparisons: stored sweeps and what searchers cost on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import TypeAdapter, ValidationError

from tunecost.api.deps import PathId, QueryId, SessionDep, SettingsDep, WriterDep
from tunecost.api.schemas import Comparison, LandscapeDetail, LandscapeImport, LandscapeSummary
from tunecost.service import comparisons, landscape_import
from tunecost.service import landscapes as landscape_service
from tunecost.service.errors import InvalidField
from tunecost.service.specs import DELTAS_HELP, Deltas

router = APIRouter(tags=["landscapes"])


_DELTAS: TypeAdapter[list[float]] = TypeAdapter(Deltas)
_NUMBER = r"\s*(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*"
DELTAS = rf"^{_NUMBER}(,{_NUMBER})*$"


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@router.get("/landscapes", response_model=list[LandscapeSummary], summary="Stored landscapes (sweeps)")
def list_landscapes(
    session: SessionDep, task: str | None = None, optimizer: str | None = None
) -> list[LandscapeSummary]:
    return landscape_service.list_landscapes(session, task=task, optimizer=optimizer)


@router.post(
    "/landscapes",
    status_code=201,
    response_model=LandscapeSummary,
    summary="Import a landscape measured elsewhere (replayable like a swept one)",
    responses={401: {"description": "Token missing"}, 403: {"description": "Wrong token"}},
)
def import_landscape(session: SessionDep, _owner: WriterDep, spec: LandscapeImport) -> LandscapeSummary:
    """Errors are validation error in percent, [alpha][epsilon] or [seed][alpha][epsilon]; a bad
    field is a 422 naming it."""
    return landscape_import.import_landscape(session, spec)


@router.get(
    "/landscapes/{landscape_id}",
    response_model=LandscapeDetail,
    responses={404: {"description": "Landscape not found"}},
)
def get_landscape(
    session: SessionDep,
    landscape_id: PathId,
    curves: Annotated[
        bool, Query(description="Also each node's learning curve and training seconds per seed (larger).")
    ] = False,
) -> LandscapeDetail:
    return landscape_service.detail(session, landscape_id, curves=curves)


@router.get(
    "/comparisons",
    response_model=Comparison,
    summary="Tuning cost per (optimizer, searcher): trials to reach each delta, over seeds",
    responses={404: {"description": "Replay job not found"}},
)
def get_comparison(
    session: SessionDep,
    job_id: QueryId = None,
    task: str | None = None,
    optimizers: Annotated[str | None, Query(description="Comma-separated, e.g. adam,avagrad")] = None,
    searchers: Annotated[str | None, Query(description="Comma-separated")] = None,
    deltas: Annotated[
        str | None,
        Query(
            description="Comma-separated, e.g. 0.5,1. " + DELTAS_HELP,
            json_schema_extra={"pattern": DELTAS},  # checked below, with a message that names the rule
        ),
    ] = None,
) -> Comparison:
    """Rows: the tuning cost, restricted mean trials to delta (a seed that never reaches it
    counts the budget) with its 95% interval, the share of seeds that reach it, and a descriptive
    IQR. Verdicts: each optimizer against the baseline, pooled over searchers (the headline
    family) and per searcher, with raw and adjusted p-values and intervals at the corrected
    level. Profiles: performance profiles and AlgoPerf's benchmark score. Curves: median and IQR
    of suboptimality after t trials. Landscapes: each one's best error, share of configs within
    delta (random search's odds), seed noise and learning-rate sensitivity."""
    try:
        parsed = [float(d) for d in _split(deltas) or []] or None
    except ValueError:
        raise InvalidField(
            "deltas", f"must be comma-separated numbers, got {deltas!r}", where="query"
        ) from None
    if parsed is not None:  # as a replay's own deltas (ReplaySpec.deltas)
        try:
            parsed = _DELTAS.validate_python(parsed)
        except ValidationError:
            raise InvalidField("deltas", f"{DELTAS_HELP} Got {deltas!r}", where="query") from None
    return comparisons.compare(
        session,
        job_id=job_id,
        task=task,
        optimizers=_split(optimizers),
        searchers=_split(searchers),
        deltas=parsed,
    )


@router.get(
    "/comparisons/{job_id}/report",
    response_class=HTMLResponse,
    summary="A replay's report as a page: verdicts, the tuning-cost table, the figures",
    responses={404: {"description": "Replay job not found"}},
)
def get_report(session: SessionDep, settings: SettingsDep, job_id: PathId) -> HTMLResponse:
    """No JavaScript; the figures and the CSV are served beside it (``report/{name}``)."""
    return HTMLResponse(comparisons.page(session, settings, job_id))


@router.get(
    "/comparisons/{job_id}/report/{name}",
    summary="One file of a replay's report: a figure (PNG, SVG), the table (text, CSV), the JSON",
    responses={404: {"description": "Replay job or file not found"}},
)
def get_report_file(
    session: SessionDep, settings: SettingsDep, job_id: PathId, name: Annotated[str, FastPath(max_length=200)]
) -> FileResponse:
    return FileResponse(comparisons.report_file(session, settings, job_id, name))
