"""The FastAPI app. ``create_app(settings, run_jobs=True)`` also runs a job runner in-process."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi_offline import FastAPIOffline

from api.deps import require_reader
from api.guards import RequestGuard, json_safe
from api.routes import catalog, jobs, landscapes
from api.schemas import Health
from service import VERSION, kinds
from service.db import ping, upgrade
from service.errors import Conflict, Forbidden, InvalidField, NotFound
from service.ray_session import shutdown_ray
from service.runner import JobRunner
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)


DESCRIPTION = """
**What does it cost to tune this optimizer?** Submit (alpha, epsilon) tuning jobs; Ray
workers train them; every trial lands as a point of a suboptimality-vs-trials curve.

* `POST /v1/jobs` queues a job (422 naming the field on bad input).
* `GET /v1/jobs/{id}/curve` gives the curve (JSON or CSV); `GET /v1/best-configs` the best config.
* Each job is an Optuna study in the same database: `tunecost dashboard` shows it live.
"""


def _install_error_handlers(app: FastAPI, kind_names: set[str]) -> None:
    """Domain errors raised in ``service/`` become HTTP errors here, in one place."""

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # A job body is a union tagged by `kind`; pydantic puts the tag in `loc`
        # (["body", "search", "budget"]). Drop it so `loc` names the field as sent.
        errors = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            if len(loc) > 2 and loc[0] == "body" and loc[1] in kind_names:
                loc = [loc[0], *loc[2:]]
            errors.append({**err, "loc": loc})
        return JSONResponse({"detail": json_safe(jsonable_encoder(errors))}, status_code=422)

    @app.exception_handler(InvalidField)
    async def _invalid(_: Request, exc: InvalidField) -> JSONResponse:
        detail = [{"loc": [exc.where, exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)


def create_app(settings: Settings | None = None, *, run_jobs: bool = False) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            upgrade(settings.resolved_database_url)
        stop = threading.Event()
        runner_thread, runner = None, None
        if run_jobs:
            runner = JobRunner(settings)  # imports no Ray until a job runs
            runner_thread = threading.Thread(
                target=runner.run_forever, args=(stop,), name="tunecost-runner", daemon=True
            )
            runner_thread.start()
        app.state.runner_stop = stop
        try:
            yield
        finally:
            stop.set()
            if runner is not None and runner_thread is not None:
                runner.stop_current()  # the job in hand goes back to the queue, its finished trials kept
                runner_thread.join(timeout=30)
            if run_jobs:
                shutdown_ray()  # this process's runner may have started a local Ray instance

    # /docs and /redoc from assets shipped in fastapi-offline: they work without internet.
    app = FastAPIOffline(
        title="tunecost",
        version=VERSION,
        summary="Measure what an optimizer costs to tune.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    _install_error_handlers(app, set(kinds.kinds()))

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_reader)])
    v1.include_router(jobs.submit_router(kinds.spec_union()))
    v1.include_router(jobs.router)
    v1.include_router(catalog.router)
    v1.include_router(landscapes.router)
    app.include_router(v1)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        return Health(status="ok", database=ping(settings.resolved_database_url), version=VERSION)

    return app
