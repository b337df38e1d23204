"""Provider connections, always looked up within their owner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import ProviderConnection


class ProviderConnectionRepository:
    """Owner-scoped access to `provider_connections`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, owner_id: str, connection_id: str) -> ProviderConnection | None:
        """The connection with this id, if `owner_id` owns it."""
        return await self._session.scalar(
            select(ProviderConnection).where(
                ProviderConnection.id == connection_id, ProviderConnection.user_id == owner_id
            )
        )

    async def get_by_label(
        self, owner_id: str, provider: str, label: str
    ) -> ProviderConnection | None:
        """The owner's connection to `provider` under `label`."""
        return await self._session.scalar(
            select(ProviderConnection).where(
                ProviderConnection.user_id == owner_id,
                ProviderConnection.provider == provider,
                ProviderConnection.label == label,
            )
        )

    async def for_owner(
        self, owner_id: str, *, label: str | None = "default"
    ) -> list[ProviderConnection]:
        """The owner's connections, by provider name; all labels when `label` is None."""
        query = select(ProviderConnection).where(ProviderConnection.user_id == owner_id)
        if label is not None:
            query = query.where(ProviderConnection.label == label)
        result = await self._session.scalars(query.order_by(ProviderConnection.provider))
        return list(result)

    async def all_with_keys(self) -> list[ProviderConnection]:
        """Every connection holding key material (for key rotation)."""
        result = await self._session.scalars(
            select(ProviderConnection).where(ProviderConnection.encrypted_key.is_not(None))
        )
        return list(result)

    def add(self, connection: ProviderConnection) -> None:
        """Stage a new connection."""
        self._session.add(connection)

    async def flush(self) -> None:
        """Write staged changes so that defaults (ids, timestamps) are filled in."""
        await self._session.flush()

    async def delete(self, connection: ProviderConnection) -> None:
        """Delete a connection."""
        await self._session.delete(connection)
