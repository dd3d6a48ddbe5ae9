"""replicates and a fresh-seed e*: a landscape's reference (its best node measured again on
seeds that did not select it) and the training-seed replicate each replay run was made on

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_landscapes") as batch:
        batch.add_column(sa.Column("reference", sa.JSON(), nullable=True))
    with op.batch_alter_table("tunecost_replay_results") as batch:
        batch.add_column(sa.Column("replicate", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_replay_results") as batch:
        batch.drop_column("replicate")
    with op.batch_alter_table("tunecost_landscapes") as batch:
        batch.drop_column("reference")
