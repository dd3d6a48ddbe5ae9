"""Alembic environment: the URL comes from the caller's config or from the settings."""

from __future__ import annotations

from alembic import context

from tunecost.service.db import VERSION_TABLE, get_engine
from tunecost.service.models import Base
from tunecost.service.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Optuna's tables share the database; autogenerate must leave them alone.
    return not (type_ == "table" and reflected and compare_to is None and not name.startswith("tunecost_"))


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with get_engine(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename). With foreign keys on, dropping
            # tunecost_jobs would cascade to every trial, landscape link and replay run. The
            # pragma only takes effect outside a transaction: it is this connection's first statement.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=VERSION_TABLE,
            include_object=_include_object,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
