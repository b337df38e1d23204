"""users: one account, reachable through every face."""

from datetime import date
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, Timestamps


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[IdColumn]
    # Stored normalised (NFKC, case-folded: core.accounts.rules.lookup_email) so that
    # uniqueness ignores letter case and compatibility forms on every database.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_owner: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to invalidate every access token issued before (global logout).
    token_version: Mapped[int] = mapped_column(default=0)

    full_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    bio: Mapped[str | None] = mapped_column(String(2000))
    date_of_birth: Mapped[date | None]
    profession: Mapped[str | None] = mapped_column(String(200))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    survey_completed: Mapped[bool] = mapped_column(default=False)
    heard_from: Mapped[str | None] = mapped_column(String(200))
    age: Mapped[int | None]
    onboarding: Mapped[dict[str, Any] | None]
    subscription_tier: Mapped[str] = mapped_column(String(32), default="free")
    # Analyses a month, set by the operator (`switchboard user set-quota`): null means the
    # tier's limit (the owner: unlimited), UNLIMITED_QUOTA means no limit.
    monthly_quota: Mapped[int | None]


# `users.monthly_quota` for "no limit" (null already means "the tier's limit").
UNLIMITED_QUOTA = -1
