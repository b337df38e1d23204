"""Column shapes shared by many tables."""

from datetime import datetime
from typing import Annotated

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.clock import utcnow
from switchboard.kit.ids import new_id

IdColumn = Annotated[str, mapped_column(String(36), primary_key=True, default=new_id)]
OwnerColumn = Annotated[
    str, mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True)
]


class Timestamps:
    """`created_at` and `updated_at`, set by the database session on write."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
