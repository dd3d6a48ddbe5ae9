"""Engines, sessions and migrations for the one database tunecost and Optuna share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Session", "current_revision", "downgrade", "get_engine", "ping", "session_scope", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "tunecost_alembic_version"  # Optuna's storage owns `alembic_version`


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (API, dashboard) never block the runner
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=16)
def _sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(url: str) -> str:
    """Round-trip to the database; returns its dialect's name (``sqlite``, ``postgresql``)."""
    engine = get_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return engine.dialect.name


def alembic_config(url: str) -> Any:
    # Alembic: only when migrating
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 7_274_274  # Postgres advisory-lock key: "tunecost migrations"


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """One migrating process at a time, however many start at once: a Postgres advisory lock,
    or an exclusive file lock beside a SQLite database (or a no-op for in-memory SQLite)."""
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                conn.commit()
        return
    path = url.split("///", 1)[-1]
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    # POSIX only: the SQLite lock file
    import fcntl

    with open(f"{path}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the tunecost tables to ``revision`` (Alembic) and, at head, make Optuna's tables
    too (its RDB storage creates and versions them), so optuna-dashboard can open any tunecost
    database. Safe to call from any number of processes at once (:func:`migration_lock`)."""
    # Alembic: only when migrating
    import optuna
    from alembic import command

    get_engine(url)  # creates a SQLite file's directory
    with migration_lock(url):
        command.upgrade(alembic_config(url), revision)
        if revision == "head":
            optuna.storages.RDBStorage(url).engine.dispose()  # made its tables; keep no connection


def downgrade(url: str, revision: str) -> None:
    """Take the tunecost tables back to ``revision`` (Alembic); data the later revisions added is converted back where it can be."""
    # Alembic: only when migrating
    from alembic import command

    with migration_lock(url):
        command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    # Alembic: only when migrating
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
