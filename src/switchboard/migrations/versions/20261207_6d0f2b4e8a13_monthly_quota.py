"""users.monthly_quota: an operator's per-user override of the monthly analysis quota

Revision ID: 6d0f2b4e8a13
Revises: 5c9e1a3d7f42
Create Date: 2026-12-07 15:00:00.000000

Null (every existing row) keeps the tier's limit, as before: the owner unlimited, everyone
else `SWITCHBOARD_DEFAULT_MONTHLY_QUOTA` or their tier's. -1 means unlimited
(`switchboard user set-quota EMAIL --unlimited`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6d0f2b4e8a13"
down_revision: str | None = "5c9e1a3d7f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it in place, no table copy.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly_quota", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("monthly_quota")
