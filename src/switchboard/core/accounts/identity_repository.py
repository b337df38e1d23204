"""Queries of the identities table: which user an issuer's subject is linked to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import Identity, User


class IdentityRepository:
    """Links between (issuer, subject) and users."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, issuer: str, subject: str) -> tuple[Identity, User] | None:
        """The link of one subject and its user, or None."""
        stmt = (
            select(Identity, User)
            .join(User, User.id == Identity.user_id)
            .where(Identity.issuer == issuer, Identity.subject == subject)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def subject_of(self, owner_id: str, issuer: str) -> str | None:
        """The oldest subject of `issuer` linked to the user, or None."""
        stmt = (
            select(Identity.subject)
            .where(Identity.user_id == owner_id, Identity.issuer == issuer)
            .order_by(Identity.created_at, Identity.id)
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def add(self, identity: Identity) -> Identity:
        """Insert a link (flushed, so a duplicate fails here)."""
        self.session.add(identity)
        await self.session.flush()
        return identity
