"""provider connections: trust in its own column, out of the client-writable settings

Revision ID: 3a7c9e1b5d20
Revises: 2fdde15e1daf
Create Date: 2026-12-07 12:30:00.000000

`settings.private_ok` was merged with the client's `metadata`, so a stored `true` cannot
be told from one a client wrote itself: no server path ever stored `true` (faces always
saved with `false`). The key is removed from every row and the new column starts
`false`; the operator's `SWITCHBOARD_ALLOW_PRIVATE_UPSTREAMS` and
`SWITCHBOARD_OUTBOUND_EXEMPTIONS` still decide what users may reach.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "3a7c9e1b5d20"
down_revision: str | None = "2fdde15e1daf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESERVED = "private_ok"
_BATCH = 1000

_connections = sa.table(
    "provider_connections",
    sa.column("id", sa.String),
    sa.column("settings", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("provider_connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("private_ok", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _strip_reserved_settings()


def downgrade() -> None:
    # The old code read trust from settings: nothing is written back, so every
    # connection is untrusted after a downgrade, as it is after the upgrade.
    with op.batch_alter_table("provider_connections", schema=None) as batch_op:
        batch_op.drop_column("private_ok")


def _strip_reserved_settings() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_connections.c.id, _connections.c.settings)).all()
    changed: list[dict[str, Any]] = [
        {"row_id": row_id, "new_settings": {k: v for k, v in settings.items() if k != RESERVED}}
        for row_id, settings in rows
        if isinstance(settings, dict) and RESERVED in settings
    ]
    update = (
        _connections.update()
        .where(_connections.c.id == sa.bindparam("row_id"))
        .values(settings=sa.bindparam("new_settings"))
    )
    for start in range(0, len(changed), _BATCH):
        bind.execute(update, changed[start : start + _BATCH])
