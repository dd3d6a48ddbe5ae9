"""jobs and trials: the tunecost_jobs and tunecost_trials tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tunecost_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("optimizer", sa.String(length=64), nullable=False),
        sa.Column("searcher", sa.String(length=64), nullable=True),
        sa.Column("recipe_hash", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("runner_id", sa.String(length=128), nullable=True),
        sa.Column("study_name", sa.String(length=128), nullable=True),
        sa.Column("reference_error", sa.Float(), nullable=True),
        sa.Column("reference_source", sa.String(length=32), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tunecost_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tunecost_jobs_optimizer"), ["optimizer"], unique=False)
        batch_op.create_index(batch_op.f("ix_tunecost_jobs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_tunecost_jobs_task"), ["task"], unique=False)

    op.create_table(
        "tunecost_trials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column("val_loss", sa.Float(), nullable=True),
        sa.Column("train_loss", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("diverged", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("best_so_far", sa.Float(), nullable=True),
        sa.Column("suboptimality", sa.Float(), nullable=True),
        sa.Column("optuna_trial_number", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["tunecost_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tunecost_trials", schema=None) as batch_op:
        batch_op.create_index("ix_tunecost_trials_job_position", ["job_id", "position"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("tunecost_trials", schema=None) as batch_op:
        batch_op.drop_index("ix_tunecost_trials_job_position")

    op.drop_table("tunecost_trials")
    with op.batch_alter_table("tunecost_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tunecost_jobs_task"))
        batch_op.drop_index(batch_op.f("ix_tunecost_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_tunecost_jobs_optimizer"))

    op.drop_table("tunecost_jobs")
