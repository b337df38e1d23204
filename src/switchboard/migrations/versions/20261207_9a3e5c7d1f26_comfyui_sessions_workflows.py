"""comfyui sessions, workflows and generations

Revision ID: 9a3e5c7d1f26
Revises: 8f2d4b6c0e15
Create Date: 2026-12-07 19:10:00.000000
"""

from collections.abc import Sequence

revision: str = "9a3e5c7d1f26"
down_revision: str | None = "8f2d4b6c0e15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
