"""landscape metric: what a landscape's scores measure (name, unit, kind)

Null for landscapes stored before tasks declared metrics: those are validation error in percent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_landscapes") as batch_op:
        batch_op.add_column(sa.Column("metric", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_landscapes") as batch_op:
        batch_op.drop_column("metric")
