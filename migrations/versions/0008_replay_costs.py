"""replay costs: epochs, seconds and simulated wall-clock to each delta, per run

Null for runs against landscapes without learning curves (and runs stored before).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_replay_results") as batch_op:
        batch_op.add_column(sa.Column("cost_to", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_replay_results") as batch_op:
        batch_op.drop_column("cost_to")
