"""message leases: which replica produces a streaming reply, and until when

Revision ID: 5c9e1a3d7f42
Revises: 4b8d0f2c6e31
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.kit.db

revision: str = "5c9e1a3d7f42"
down_revision: str | None = "4b8d0f2c6e31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_messages = sa.table(
    "messages",
    sa.column("status", sa.String),
    sa.column("created_at", switchboard.kit.db.UTCDateTime(timezone=True)),
    sa.column("lease_expires_at", switchboard.kit.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_expires_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_messages_status_lease", ["status", "lease_expires_at"], unique=False
        )
    # Rows left `streaming` by earlier versions (whose replicas wrote no lease and kept
    # them so after a crash) get a lease that lapsed: the first sweep finishes them.
    op.execute(
        _messages.update()
        .where(_messages.c.status == "streaming")
        .values(lease_expires_at=_messages.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_lease")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
