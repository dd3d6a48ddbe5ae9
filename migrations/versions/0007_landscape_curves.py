"""landscape curves: each node's learning curve and training seconds, per seed

Null for points stored before sweeps recorded them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_landscape_points") as batch_op:
        batch_op.add_column(sa.Column("curves", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seconds", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_landscape_points") as batch_op:
        batch_op.drop_column("seconds")
        batch_op.drop_column("curves")
