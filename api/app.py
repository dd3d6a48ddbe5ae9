"""The FastAPI app. ``create_app(settings, run_jobs=True)`` also runs a job runner in-process."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline

from tunecost.api.deps import authorize, require_reader
from tunecost.api.guards import RequestGuard, json_safe
from tunecost.api.routes import catalog, jobs, landscapes
from tunecost.api.schemas import Health
from tunecost.service import VERSION, kinds
from tunecost.service.db import ping, upgrade
from tunecost.service.errors import Conflict, Forbidden, InvalidField, NotFound
from tunecost.service.ray_session import shutdown_ray
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings, get_settings

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
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A job body is a union tagged by `kind`; pydantic puts the tag in `loc`
        # (["body", "search", "budget"]). Drop it so `loc` names the field as sent.
        json_body = "json" in request.headers.get("content-type", "")
        errors = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            if len(loc) > 2 and loc[0] == "body" and loc[1] in kind_names:
                loc = [loc[0], *loc[2:]]
            if loc == ["body"] and not json_body:  # FastAPI read it as text, not as JSON
                err = {**err, "msg": "The body must be JSON, sent with Content-Type: application/json"}
            errors.append({**err, "loc": loc})
        return JSONResponse({"detail": json_safe(jsonable_encoder(errors))}, status_code=422)

    @app.exception_handler(InvalidField)
    async def _invalid(_: Request, exc: InvalidField) -> JSONResponse:
        detail = [{"loc": [exc.where, exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)


UNAUTHORIZED = {"description": "Token missing"}
FORBIDDEN = {"description": "Wrong token"}
UNPARSABLE = {"description": "The body could not be read as JSON (not UTF-8)"}
_PATH_PARAMETER = re.compile(r"\\\{[^}]+\\\}")  # "{job_id}" as re.escape writes it
NO_NUL = "^[^\\x00]*$"
TOO_LARGE = {"description": "The body is over the server's TUNECOST_MAX_BODY_BYTES"}


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The OpenAPI document as this server behaves: bearer security, 401 and 403 only where its
    settings ask for a token (none configured: nowhere; writes; reads too with
    TUNECOST_AUTH_READS); 400 and 413 where a body is read; tuples as fixed-length arrays
    (``prefixItems`` is JSON Schema 2020-12, which not every OpenAPI tool reads)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = FastAPI.openapi(app)
    tokens = bool(settings.api_tokens or settings.admin_tokens)
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            write = method in ("post", "put", "patch", "delete")
            secured = path.startswith("/v1/") and tokens and (write or settings.auth_reads)
            responses = op.setdefault("responses", {})
            if secured:
                op["security"] = [{"HTTPBearer": []}]
                responses.setdefault("401", UNAUTHORIZED)
                responses.setdefault("403", FORBIDDEN)
            else:
                op.pop("security", None)
                responses.pop("401", None)
                if not write:
                    responses.pop("403", None)
            for parameter in op.get("parameters", []):  # the guard refuses NUL in any URL
                for option in parameter.get("schema", {}).get("anyOf", [parameter.get("schema", {})]):
                    if option.get("type") == "string" and "pattern" not in option:
                        option["pattern"] = NO_NUL
            if "requestBody" in op:
                responses.setdefault("400", UNPARSABLE)
                responses.setdefault("413", TOO_LARGE)
    if not tokens:
        schema.get("components", {}).pop("securitySchemes", None)
    app.openapi_schema = _without_prefix_items(schema)
    return app.openapi_schema


def _without_prefix_items(node: Any) -> Any:
    """Each ``{"prefixItems": [a, b]}`` as ``{"items": a-or-b, "minItems": 2, "maxItems": 2}``."""
    if isinstance(node, list):
        return [_without_prefix_items(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _without_prefix_items(v) for k, v in node.items()}
    if "prefixItems" in out:
        items = out.pop("prefixItems")
        distinct = [json.loads(t) for t in dict.fromkeys(json.dumps(i, sort_keys=True) for i in items)]
        out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
        out["minItems"] = out["maxItems"] = len(items)
    return out


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
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, authorize=authorize(settings))
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

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: Exception) -> Response:
        # Starlette names one route's methods; a path may have several (GET and POST /v1/jobs)
        allowed = sorted(
            method.upper()
            for template, operations in app.openapi()["paths"].items()
            if re.fullmatch(_PATH_PARAMETER.sub("[^/]+", re.escape(template)), request.url.path)
            for method in operations
        )
        return JSONResponse(
            {"detail": getattr(exc, "detail", "Method Not Allowed")},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )

    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        return Health(status="ok", database=ping(settings.resolved_database_url), version=VERSION)

    return app
