"""replay link tables: a replay's landscapes and searchers as rows, not comma-joined columns

Before: a replay job stored ``task``, ``optimizer`` and ``searcher`` as comma-joined lists and
``recipe_hash`` as the joined, truncated hashes of its landscapes. After: the rows of
``tunecost_replay_landscapes`` and ``tunecost_replay_searchers`` (ordered by ``position``),
and those four columns are null for replays (nullable for every job kind that does not train
one task with one optimizer). Existing replays are converted from their stored spec.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

jobs = sa.table(
    "tunecost_jobs",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("task", sa.String),
    sa.column("optimizer", sa.String),
    sa.column("searcher", sa.String),
    sa.column("recipe_hash", sa.String),
    sa.column("spec", sa.JSON),
)
landscapes = sa.table(
    "tunecost_landscapes",
    sa.column("id", sa.Integer),
    sa.column("task", sa.String),
    sa.column("optimizer", sa.String),
    sa.column("recipe_hash", sa.String),
)
replay_landscapes = sa.table(
    "tunecost_replay_landscapes",
    sa.column("job_id", sa.Integer),
    sa.column("landscape_id", sa.Integer),
    sa.column("position", sa.Integer),
)
replay_searchers = sa.table(
    "tunecost_replay_searchers",
    sa.column("job_id", sa.Integer),
    sa.column("searcher", sa.String),
    sa.column("position", sa.Integer),
)
SUBJECT_COLUMNS = ("task", "optimizer", "recipe_hash")


def upgrade() -> None:
    op.create_table(
        "tunecost_replay_landscapes",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("landscape_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["tunecost_jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["landscape_id"], ["tunecost_landscapes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "landscape_id"),
    )
    op.create_index(
        "ix_tunecost_replay_landscapes_landscape_id", "tunecost_replay_landscapes", ["landscape_id"]
    )
    op.create_table(
        "tunecost_replay_searchers",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("searcher", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["tunecost_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "searcher"),
    )

    conn = op.get_bind()
    existing = set(conn.scalars(sa.select(landscapes.c.id)))
    replays = conn.execute(sa.select(jobs.c.id, jobs.c.spec, jobs.c.searcher).where(jobs.c.kind == "replay"))
    for job_id, spec, packed_searchers in list(replays):
        spec = spec or {}
        ids = [i for i in dict.fromkeys(spec.get("landscape_ids") or []) if i in existing]
        names = list(dict.fromkeys(spec.get("searchers") or (packed_searchers or "").split(",")))
        if ids:
            conn.execute(
                replay_landscapes.insert(),
                [{"job_id": job_id, "landscape_id": i, "position": k} for k, i in enumerate(ids)],
            )
        if names := [n for n in names if n]:
            conn.execute(
                replay_searchers.insert(),
                [{"job_id": job_id, "searcher": n, "position": k} for k, n in enumerate(names)],
            )
    with op.batch_alter_table("tunecost_jobs") as batch_op:
        for name in SUBJECT_COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(64 if name != "recipe_hash" else 16), nullable=True
            )
    conn.execute(
        jobs.update()
        .where(jobs.c.kind == "replay")
        .values(task=None, optimizer=None, searcher=None, recipe_hash=None)
    )


def downgrade() -> None:
    conn = op.get_bind()
    replays = list(conn.scalars(sa.select(jobs.c.id).where(jobs.c.kind == "replay")))
    for job_id in replays:
        rows = conn.execute(
            sa.select(landscapes.c.task, landscapes.c.optimizer, landscapes.c.recipe_hash)
            .join(replay_landscapes, replay_landscapes.c.landscape_id == landscapes.c.id)
            .where(replay_landscapes.c.job_id == job_id)
        ).all()
        names = conn.scalars(
            sa.select(replay_searchers.c.searcher)
            .where(replay_searchers.c.job_id == job_id)
            .order_by(replay_searchers.c.position)
        ).all()
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(
                task=",".join(sorted({r.task for r in rows})),
                optimizer=",".join(sorted({r.optimizer for r in rows})),
                searcher=",".join(names),
                recipe_hash=",".join(sorted({r.recipe_hash for r in rows}))[:16],
            )
        )
    for name in SUBJECT_COLUMNS:  # other kinds always set them; anything left null cannot go back
        conn.execute(jobs.update().where(getattr(jobs.c, name).is_(None)).values({name: ""}))
    with op.batch_alter_table("tunecost_jobs") as batch_op:
        for name in SUBJECT_COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(64 if name != "recipe_hash" else 16), nullable=False
            )
    op.drop_table("tunecost_replay_searchers")
    op.drop_index("ix_tunecost_replay_landscapes_landscape_id", table_name="tunecost_replay_landscapes")
    op.drop_table("tunecost_replay_landscapes")
