"""sweep pairs: each (seed, node, epochs) a sweep has trained, stored as its chunk arrives;
the epochs each landscape point reached

A sweep claimed again (its runner died, or handed it back on SIGTERM) trains only the pairs
it does not have; the landscape is written from them once the last pair is in. A point's
``epochs`` is the fidelity it was trained to (a successive-halving sweep stops most nodes
early); null for points of an analytic task and for those stored before. A replay run counts
its trials that landed on such stopped nodes (``stopped_trials``; null on a full landscape).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tunecost_sweep_pairs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("tunecost_jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("alpha_index", sa.Integer(), nullable=False),
        sa.Column("epsilon_index", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("error", sa.Float(), nullable=False),
        sa.Column("val_loss", sa.Float(), nullable=True),
        sa.Column("train_loss", sa.Float(), nullable=True),
        sa.Column("diverged", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("epochs_run", sa.Integer(), nullable=False),
        sa.Column("from_epoch", sa.Integer(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("worker", sa.JSON(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("elapsed", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_tunecost_sweep_pairs_pair",
        "tunecost_sweep_pairs",
        ["job_id", "seed", "alpha_index", "epsilon_index", "epochs"],
        unique=True,
    )
    with op.batch_alter_table("tunecost_landscape_points") as batch_op:
        batch_op.add_column(sa.Column("epochs", sa.Integer(), nullable=True))
    with op.batch_alter_table("tunecost_replay_results") as batch_op:
        batch_op.add_column(sa.Column("stopped_trials", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_replay_results") as batch_op:
        batch_op.drop_column("stopped_trials")
    with op.batch_alter_table("tunecost_landscape_points") as batch_op:
        batch_op.drop_column("epochs")
    op.drop_index("ix_tunecost_sweep_pairs_pair", table_name="tunecost_sweep_pairs")
    op.drop_table("tunecost_sweep_pairs")
