"""idempotency keys: a retried POST /v1/jobs returns the job the first one queued

A job remembers the digest of its submitter's ``Idempotency-Key``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tunecost_jobs") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_tunecost_jobs_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("tunecost_jobs") as batch:
        batch.drop_constraint("uq_tunecost_jobs_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
