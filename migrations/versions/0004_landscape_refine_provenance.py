"""landscape refinement and provenance: sweep_seeds, refine, provenance, checksum

A landscape may train extra seeds only where the verdict is decided (``refine``); its
``seeds`` list every seed trained anywhere and ``sweep_seeds`` those trained at every node.
``provenance`` records what made it (versions, device, CPU) and ``checksum`` its errors.
Existing landscapes keep null: every node was trained with every one of their seeds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_landscapes") as batch_op:
        batch_op.add_column(sa.Column("sweep_seeds", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("refine", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("provenance", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("checksum", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tunecost_landscapes") as batch_op:
        for name in ("checksum", "provenance", "refine", "sweep_seeds"):
            batch_op.drop_column(name)
