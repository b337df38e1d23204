"""Queries for users, sessions, refresh tokens and API keys (SQLAlchemy 2 `select()`).

Every method that takes the id of something a user owns also takes the owner's id, so a
lookup can never cross users. Repositories flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import ApiKey, AuthSession, RefreshToken, User


class UserRepository:
    """Users by id, email and username."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> User | None:
        """The user with this id (a user owns itself)."""
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        """The user with this (already lower-cased) email."""
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def get_by_username(self, username: str) -> User | None:
        """The user whose username matches in any letter case."""
        stmt = select(User).where(func.lower(User.username) == username.lower())
        result = await self.session.execute(stmt.limit(1))
        return result.scalar_one_or_none()

    async def list_page(self, *, offset: int, limit: int) -> Sequence[User]:
        """Users, oldest first."""
        stmt = select(User).order_by(User.created_at, User.id).offset(offset).limit(limit)
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def count(self) -> int:
        """How many users exist."""
        result = await self.session.execute(select(func.count()).select_from(User))
        return int(result.scalar_one())

    async def add(self, user: User) -> User:
        """Insert a user and flush, so constraint violations surface here."""
        self.session.add(user)
        await self.session.flush()
        return user

    async def delete(self, user_id: str) -> bool:
        """Delete a user row; the database cascades to everything the user owns."""
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return _rowcount(result) > 0

    async def clear_owner_except(self, user_id: str) -> None:
        """Make `user_id` the only owner: any other account loses the owner flag."""
        stmt = (
            update(User)
            .where(User.is_owner.is_(True), User.id != user_id)
            .values(is_owner=False)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(stmt)

    async def bump_token_version(self, user_id: str) -> None:
        """Invalidate every access token issued to the user so far."""
        stmt = (
            update(User)
            .where(User.id == user_id)
            .values(token_version=User.token_version + 1)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(stmt)


class SessionRepository:
    """Sign-in sessions, always scoped to their owner."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_for_owner(self, owner_id: str, session_id: str) -> AuthSession | None:
        """The owner's session with this id."""
        stmt = select(AuthSession).where(
            AuthSession.id == session_id, AuthSession.user_id == owner_id
        )
        result = await self.session.execute(stmt)
        return result.scalar_one_or_none()

    async def get_with_user(
        self, owner_id: str, session_id: str
    ) -> tuple[AuthSession, User] | None:
        """The owner's session and the owner, in one round trip (the token hot path)."""
        stmt = (
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id, AuthSession.user_id == owner_id)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def list_for_owner(self, owner_id: str) -> Sequence[AuthSession]:
        """The owner's sessions, newest first."""
        stmt = (
            select(AuthSession)
            .where(AuthSession.user_id == owner_id)
            .order_by(AuthSession.created_at.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def add(self, auth_session: AuthSession) -> AuthSession:
        """Insert a session and flush."""
        self.session.add(auth_session)
        await self.session.flush()
        return auth_session

    async def revoke_all_for_owner(self, owner_id: str, *, at: datetime, reason: str) -> int:
        """Revoke every live session of the owner; how many were revoked."""
        stmt = (
            update(AuthSession)
            .where(AuthSession.user_id == owner_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
        return _rowcount(await self.session.execute(stmt))


class RefreshTokenRepository:
    """Refresh tokens, found only by the hash of their secret."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_with_session(self, token_hash: str) -> tuple[RefreshToken, AuthSession] | None:
        """The token with this hash and its session."""
        stmt = (
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def add(self, token: RefreshToken) -> RefreshToken:
        """Insert a refresh token and flush."""
        self.session.add(token)
        await self.session.flush()
        return token

    async def mark_used(self, token_id: str, *, at: datetime) -> bool:
        """Mark a token used; False when it already was (a concurrent or repeated use).

        A conditional UPDATE, so two requests racing with one token cannot both win.
        """
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session="fetch")
        )
        return _rowcount(await self.session.execute(stmt)) == 1


class ApiKeyRepository:
    """API keys, scoped to their owner except for the lookup by public prefix."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_for_owner(self, owner_id: str, key_id: str) -> ApiKey | None:
        """The owner's key with this id."""
        stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == owner_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_prefix_with_user(self, prefix: str) -> tuple[ApiKey, User] | None:
        """The key with this public prefix and its owner (verification starts here)."""
        stmt = (
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def prefix_exists(self, prefix: str) -> bool:
        """True when a key already has this prefix."""
        stmt = select(ApiKey.id).where(ApiKey.prefix == prefix)
        return (await self.session.execute(stmt)).first() is not None

    async def list_for_owner(
        self, owner_id: str, *, include_revoked: bool = False
    ) -> Sequence[ApiKey]:
        """The owner's keys, newest first."""
        stmt = select(ApiKey).where(ApiKey.user_id == owner_id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        stmt = stmt.order_by(ApiKey.created_at.desc(), ApiKey.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def add(self, key: ApiKey) -> ApiKey:
        """Insert a key and flush."""
        self.session.add(key)
        await self.session.flush()
        return key

    async def touch(self, key_id: str, *, at: datetime, not_since: datetime) -> bool:
        """Set `last_used_at` unless it was already set at or after `not_since`.

        The condition lives in the UPDATE so that replicas racing on one key write once.
        """
        stmt = (
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < not_since),
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(await self.session.execute(stmt)) == 1


def _rowcount(result: object) -> int:
    # UPDATE and DELETE return a CursorResult; its rowcount is what we matched.
    return result.rowcount if isinstance(result, CursorResult) else 0
