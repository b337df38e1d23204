"""Saved model rows, looked up within their owner."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import SavedModel, User


class SavedModelRepository:
    """Owner-scoped access to `saved_models`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def for_owner(self, owner_id: str) -> list[SavedModel]:
        """The owner's saved models, the default first, then oldest first."""
        rows = await self._session.scalars(
            select(SavedModel)
            .where(SavedModel.user_id == owner_id)
            .order_by(SavedModel.is_default.desc(), SavedModel.created_at, SavedModel.id)
        )
        return list(rows)

    async def get(self, owner_id: str, model_id: str) -> SavedModel | None:
        """The saved model, if `owner_id` owns it."""
        return await self._session.scalar(
            select(SavedModel).where(SavedModel.id == model_id, SavedModel.user_id == owner_id)
        )

    async def default(self, owner_id: str) -> SavedModel | None:
        """The owner's default model, if any."""
        return await self._session.scalar(
            select(SavedModel).where(SavedModel.user_id == owner_id, SavedModel.is_default)
        )

    async def oldest_id(self, owner_id: str) -> str | None:
        """The id of the owner's oldest saved model, if any."""
        return await self._session.scalar(
            select(SavedModel.id)
            .where(SavedModel.user_id == owner_id)
            .order_by(SavedModel.created_at, SavedModel.id)
            .limit(1)
        )

    async def lock_owner(self, owner_id: str) -> list[SavedModel]:
        """Lock the owner's row and saved rows (`FOR UPDATE`) and return the saved rows.

        The user's row too: two first imports into an empty workspace must not both see
        "no default" (row locks alone cannot cover rows that do not exist yet).
        """
        await self._session.execute(select(User.id).where(User.id == owner_id).with_for_update())
        rows = await self._session.scalars(
            select(SavedModel)
            .where(SavedModel.user_id == owner_id)
            .order_by(SavedModel.id)
            .with_for_update()
        )
        return list(rows)

    async def make_default(self, owner_id: str, model_id: str) -> None:
        """Make `model_id` the owner's default and every other of their rows not."""
        # One statement over all of the owner's rows: there is never a moment with two.
        await self._session.execute(
            update(SavedModel)
            .where(SavedModel.user_id == owner_id)
            .values(is_default=case((SavedModel.id == model_id, True), else_=False))
            .execution_options(synchronize_session="fetch")
        )

    def add(self, row: SavedModel) -> None:
        """Stage a new saved model."""
        self._session.add(row)

    async def delete(self, row: SavedModel) -> None:
        """Delete a saved model row."""
        await self._session.delete(row)

    async def flush(self) -> None:
        """Write staged changes so that defaults are filled in."""
        await self._session.flush()

    async def refresh(self, row: SavedModel) -> None:
        """Read the row again (after a statement changed it)."""
        await self._session.refresh(row)
