"""messages.parts: a reply's thinking, tool calls and tool results, in order

Revision ID: 7e1c3a5b9d24
Revises: 6d0f2b4e8a13
Create Date: 2026-12-07 18:00:00.000000

Null (every existing row) is a plain reply whose `content` says it all, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e1c3a5b9d24"
down_revision: str | None = "6d0f2b4e8a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it in place, no table copy.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("parts")
