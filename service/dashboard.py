"""optuna-dashboard on tunecost's database, optionally read-only for shared deployments.

optuna-dashboard (0.21) has no read-only switch: every change it can make (delete or rename
a study, edit a note, tell a trial, upload or delete an artifact) is a POST, PUT, PATCH or
DELETE on its ``/api`` routes, and every page and read is a GET. :func:`read_only` is a small
WSGI middleware that answers the former with 403 and ``{"reason": ...}`` (the message the
dashboard shows in its snackbar) before optuna-dashboard sees them, so nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
READS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSAL = "this dashboard is read-only (tunecost dashboard --read-only): studies cannot be changed here"


def read_only(app: WSGIApp) -> WSGIApp:
    """``app`` answering every request that is not a read with 403, unchanged otherwise."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() in READS:
            return app(environ, start_response)
        body = json.dumps({"reason": REFUSAL}).encode()
        start_response(
            "403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return guarded


def dashboard_app(url: str, artifacts_dir: Any, *, readonly: bool = False) -> WSGIApp:
    """optuna-dashboard's WSGI app on ``url`` with tunecost's artifact store (the figures)."""
    # optuna-dashboard: only in the dashboard and where a replay's report is attached
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    app = optuna_dashboard.wsgi(url, artifact_store=FileSystemArtifactStore(str(artifacts_dir)))
    return read_only(app) if readonly else app


def serve(url: str, artifacts_dir: Any, *, host: str, port: int, readonly: bool = False) -> None:
    """Serve the dashboard until interrupted (bottle's server, as ``optuna_dashboard.run_server``)."""
    # optuna-dashboard: only in the dashboard and where a replay's report is attached
    from bottle import run

    run(dashboard_app(url, artifacts_dir, readonly=readonly), host=host, port=port, quiet=True)
