"""spoonfeeder tasks and results

Revision ID: 8f2d4b6c0e15
Revises: 7e1c3a5b9d24
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

revision: str = "8f2d4b6c0e15"
down_revision: str | None = "7e1c3a5b9d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
