"""Shared fixtures.

* ``database_url`` — a fresh, migrated database per test: a SQLite file always, and a
  fresh Postgres database too when ``TUNECOST_TEST_DATABASE_URL`` is set (``.ci/run``
  sets it). Tests that take it run once per backend. Each backend is migrated once per
  session and copied per test.
* ``ray_session`` — one local Ray instance for the whole run (``local_mode`` is gone).
* ``live_server`` — uvicorn serving the app with its in-process job runner.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tunecost.service.db import upgrade
from tunecost.service.settings import Settings

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
PG_URL = os.environ.get("TUNECOST_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


def _new_postgres_database(template: str | None = None) -> str:
    """A new, empty (or ``template``-cloned) Postgres database on the test server; its URL."""
    assert PG_URL is not None
    admin_url = make_url(PG_URL)
    name = f"tunecost_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    from tunecost.service.db import get_engine

    get_engine(url).dispose()
    name = make_url(url).database
    admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables: a SQLite file, or a new Postgres database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tunecost.db'}"
        return
    url = _new_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each backend migrated to head once per session (tunecost's revisions and Optuna's
    tables); every test gets a copy of it. Built on first use, so a run that needs no database
    migrates none."""
    templates: dict[str, str] = {}
    yield templates
    if "postgres" in templates:
        _drop_postgres_database(templates["postgres"])


def _template(backend: str, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend not in templates:
        from tunecost.service.db import get_engine

        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'tunecost.db'}"
        else:
            url = _new_postgres_database()
        upgrade(url)
        get_engine(url).dispose()  # a Postgres template may have no open connection
        templates[backend] = url
    return templates[backend]


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    migrated_templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A fresh database migrated to head, copied from the session's migrated template (a file
    copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on Postgres); tests that take it run once
    per backend."""
    template = _template(request.param, migrated_templates, tmp_path_factory)
    if request.param == "sqlite":
        path = tmp_path / "tunecost.db"
        shutil.copyfile(template.split("///", 1)[1], path)
        yield f"sqlite:///{path}"
        return
    url = _new_postgres_database(template=make_url(template).database)
    try:
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        ray_num_cpus=2,
        lease_seconds=30,
        poll_seconds=0.1,
        _env_file=None,
    )


# A test that starts Ray (or a live server, which runs jobs on it) takes seconds to minutes: it is
# in the slow lane whether or not it says so. `pytest -m "not slow"` is the fast lane.
SLOW_FIXTURES = frozenset({"ray_session", "live_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    from tunecost.service.ray_session import ensure_ray, shutdown_ray

    ensure_ray(Settings(ray_num_cpus=2, _env_file=None))
    yield
    shutdown_ray()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings, *, run_jobs: bool = True) -> None:
        import uvicorn

        from tunecost.api.app import create_app

        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, run_jobs=run_jobs), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture
def live_server(settings: Settings, ray_session: None) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server
