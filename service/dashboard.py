"""optuna-dashboard on tunecost's database, optionally read-only for shared deployments.

optuna-dashboard (0.21) has no read-only switch: every change it can make (delete or rename
a study, edit a note, tell a trial, upload or delete an artifact) is a POST, PUT, PATCH or
DELETE on its ``/api`` routes, and every page and read is a GET. :func:`read_only` is a small
WSGI middleware that answers the former with 403 and ``{"reason": ...}`` (the message the
dashboard shows in its snackbar) before optuna-dashboard sees them, so nothing is written.

:func:`backfill_sweeps` writes, before the dashboard opens, the study of every sweep that
finished before sweeps wrote studies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import optuna
from sqlalchemy import select

from tunecost.service import kinds
from tunecost.service.db import session_scope
from tunecost.service.models import Job, Landscape
from tunecost.service.states import JobState
from tunecost.service.studies import write_sweep

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


INDICES = ("alpha_index", "epsilon_index")  # search_spaces' grid coordinates (ALPHA_INDEX, EPSILON_INDEX)


def shown(trial: Any) -> Any:
    """A trial as the dashboard shows it: a grid search's trial has the grid indices its sampler
    needs and the real alpha and epsilon beside them as parameters; the indices become user
    attributes, so the panels (hyperparameter importance, slice, contour) credit alpha and
    epsilon only, and the indices can still be read."""
    if not all(name in trial.params for name in (*INDICES, "alpha", "epsilon")):
        return trial
    # optuna: only in the dashboard's process
    from optuna.trial import FrozenTrial

    keep = [name for name in trial.params if name not in INDICES]
    return FrozenTrial(
        number=trial.number,
        state=trial.state,
        value=None,
        values=trial.values,
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
        params={name: trial.params[name] for name in keep},
        distributions={name: trial.distributions[name] for name in keep},
        user_attrs={**trial.user_attrs, **{name: trial.params[name] for name in INDICES}},
        system_attrs=trial.system_attrs,
        intermediate_values=trial.intermediate_values,
        trial_id=trial._trial_id,  # FrozenTrial keeps its id private; the storage needs it back
    )


def shown_storage(url: str) -> Any:
    """tunecost's database through Optuna's RDB storage (as optuna-dashboard opens a URL), its
    trials read through :func:`shown`; every other call, writes included, is the storage's own.
    A wrapper, not a subclass: Optuna wraps an RDB storage in its cache, which reads trials
    through its own private calls."""
    # optuna: only in the dashboard's process
    from optuna.storages import BaseStorage, RDBStorage

    class Shown(BaseStorage):
        def __init__(self, inner: BaseStorage) -> None:
            self.inner = inner

        def get_all_trials(self, study_id: int, deepcopy: bool = True, states: Any = None) -> list[Any]:
            return [shown(t) for t in self.inner.get_all_trials(study_id, deepcopy=deepcopy, states=states)]

        def get_trial(self, trial_id: int) -> Any:
            return shown(self.inner.get_trial(trial_id))

        def remove_session(self) -> None:
            self.inner.remove_session()

    def delegate(name: str) -> Any:
        return lambda self, *args, **kwargs: getattr(self.inner, name)(*args, **kwargs)

    for name in BaseStorage.__abstractmethods__ - {"get_all_trials", "get_trial"}:
        setattr(Shown, name, delegate(name))
    Shown.__abstractmethods__ = frozenset()
    return Shown(RDBStorage(url, skip_compatibility_check=True, skip_table_creation=True))


def dashboard_app(url: str, artifacts_dir: Any, *, readonly: bool = False) -> WSGIApp:
    """optuna-dashboard's WSGI app on ``url`` (trials read through :func:`shown`) with tunecost's
    artifact store (the figures)."""
    # optuna-dashboard: only in the dashboard and where a replay's report is attached
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    app = optuna_dashboard.wsgi(
        shown_storage(url), artifact_store=FileSystemArtifactStore(str(artifacts_dir))
    )
    return read_only(app) if readonly else app


def serve(url: str, artifacts_dir: Any, *, host: str, port: int, readonly: bool = False) -> None:
    """Serve the dashboard until interrupted (bottle's server, as ``optuna_dashboard.run_server``)."""
    # optuna-dashboard: only in the dashboard and where a replay's report is attached
    from bottle import run

    run(dashboard_app(url, artifacts_dir, readonly=readonly), host=host, port=port, quiet=True)


def backfill_sweeps(url: str) -> list[str]:
    """Write the study of every finished sweep that has none (sweeps that finished before
    sweeps wrote studies) or only part of its nodes (a write that was stopped): the dashboard
    then lists them whole. Returns the studies written."""

    with session_scope(url) as session:
        sweeps = []
        for job in session.scalars(select(Job).where(Job.state == JobState.SUCCEEDED)):
            landscape_id = kinds.links(job).landscape_id
            landscape = None if landscape_id is None else session.get(Landscape, landscape_id)
            if job.study_name and landscape is not None:
                sweeps.append((job.id, job.study_name, landscape.id, landscape.grid.size))
    if not sweeps:
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    have = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url, include_best_trial=False)}
    written = []
    for job_id, name, landscape_id, nodes in sweeps:
        if have.get(name) != nodes:  # none yet, or part-written by a run that was stopped
            write_sweep(url, name, landscape_id, job_id)
            written.append(name)
    return written
