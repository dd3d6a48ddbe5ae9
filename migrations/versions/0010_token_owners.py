"""job owners by identity, not position in TUNECOST_API_TOKENS

A job submitted as the N-th token was owned by ``token-N`` (``admin-N``), which after a
rotation or a reordering of the list named another token. Owners are now a named token's name
or a bare token's digest (``tunecost.service.settings.split_token``). This maps ``token-N``/``admin-N``
through the tokens configured when it runs (the list that made them, if it has not changed
since); with none configured, or N beyond the list, the old name stays: it matches no token,
so such a job can be cancelled only by an admin, never by whoever took its place.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tunecost.service.settings import get_settings, split_token

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

jobs = sa.table("tunecost_jobs", sa.column("owner", sa.String))


def upgrade() -> None:
    settings = get_settings()
    for prefix, tokens in (("token", settings.api_tokens), ("admin", settings.admin_tokens)):
        for i, token in enumerate(tokens):
            op.execute(
                jobs.update().where(jobs.c.owner == f"{prefix}-{i}").values(owner=split_token(token)[0])
            )


def downgrade() -> None:
    settings = get_settings()
    for prefix, tokens in (("token", settings.api_tokens), ("admin", settings.admin_tokens)):
        for i, token in enumerate(tokens):
            op.execute(
                jobs.update().where(jobs.c.owner == split_token(token)[0]).values(owner=f"{prefix}-{i}")
            )
