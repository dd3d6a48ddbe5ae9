"""landscapes and replays: tunecost_landscapes, tunecost_landscape_points, tunecost_replay_results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tunecost_landscapes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("optimizer", sa.String(length=64), nullable=False),
        sa.Column("recipe_hash", sa.String(length=16), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("space", sa.JSON(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("fused", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["tunecost_jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tunecost_landscapes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tunecost_landscapes_optimizer"), ["optimizer"], unique=False)
        batch_op.create_index(batch_op.f("ix_tunecost_landscapes_task"), ["task"], unique=False)

    op.create_table(
        "tunecost_landscape_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("landscape_id", sa.Integer(), nullable=False),
        sa.Column("alpha_index", sa.Integer(), nullable=False),
        sa.Column("epsilon_index", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column("error_std", sa.Float(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("diverged", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["landscape_id"], ["tunecost_landscapes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tunecost_landscape_points", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tunecost_landscape_points_node", ["landscape_id", "alpha_index", "epsilon_index"], unique=True
        )

    op.create_table(
        "tunecost_replay_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("landscape_id", sa.Integer(), nullable=False),
        sa.Column("searcher", sa.String(length=64), nullable=False),
        sa.Column("optimizer", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("trials_to", sa.JSON(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["tunecost_jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["landscape_id"], ["tunecost_landscapes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tunecost_replay_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tunecost_replay_results_job", ["job_id", "landscape_id", "searcher"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tunecost_replay_results", schema=None) as batch_op:
        batch_op.drop_index("ix_tunecost_replay_results_job")

    op.drop_table("tunecost_replay_results")
    with op.batch_alter_table("tunecost_landscape_points", schema=None) as batch_op:
        batch_op.drop_index("ix_tunecost_landscape_points_node")

    op.drop_table("tunecost_landscape_points")
    with op.batch_alter_table("tunecost_landscapes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tunecost_landscapes_task"))
        batch_op.drop_index(batch_op.f("ix_tunecost_landscapes_optimizer"))

    op.drop_table("tunecost_landscapes")
