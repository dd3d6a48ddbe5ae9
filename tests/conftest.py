"""Shared fixtures.

* ``database_url`` — a fresh, migrated database per test: a SQLite file always, and a
  fresh Postgres database too when ``TUNECOST_TEST_DATABASE_URL`` is set (``.ci/run``
  sets it). Tests that take it run once per backend.
* ``ray_session`` — one local Ray instance for the whole run (``local_mode`` is gone).
* ``live_server`` — uvicorn serving the app with its in-process job runner.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import upgrade
from service.settings import Settings

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
PG_URL = os.environ.get("TUNECOST_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables: a SQLite file, or a new Postgres database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tunecost.db'}"
        return
    assert PG_URL is not None
    admin_url = make_url(PG_URL)
    name = f"tunecost_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from service.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A fresh database migrated to head; tests that take it run once per backend."""
    upgrade(empty_database_url)
    return empty_database_url


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


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    from service.ray_session import ensure_ray, shutdown_ray

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

        from api.app import create_app

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
