"""Saved models: the models a user imported into their workspace, with exactly one default.

Every change that can move the default first locks the user's row and saved rows (`FOR
UPDATE` on PostgreSQL; SQLite serialises writers anyway), and the default is then set for all of
the user's rows in one `UPDATE`, so concurrent imports, deletes and "make default" calls
can never leave two defaults, or none while models exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.catalog.saved_repository import SavedModelRepository
from switchboard.core.errors import Invalid, NotFound
from switchboard.kit.ids import canonical_id
from switchboard.models import SavedModel

MAX_SELECTIONS = 100


class SavedModelNotFound(NotFound):
    """No such saved model for this user."""

    default_code = "saved_model_not_found"

    def __init__(self) -> None:
        super().__init__("Model not found")


class ModelSelection(BaseModel):
    """One provider model to import."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=300)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class SavedModelRead(BaseModel):
    """A saved model as callers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    provider: str
    model: str
    description: str | None
    is_default: bool
    connection_id: str | None
    # The importing face's own per-model settings, kept as it gave them: core never
    # reads them, so their keys are the face's words, not core's.
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SavedModelService:
    """A user's saved models, over a session it never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._rows = SavedModelRepository(session)

    async def list_models(self, owner_id: str) -> list[SavedModelRead]:
        """The user's saved models, the default first, then oldest first."""
        return [SavedModelRead.model_validate(r) for r in await self._rows.for_owner(owner_id)]

    async def get(self, owner_id: str, model_id: str) -> SavedModelRead:
        """One of the user's saved models; 404 for anyone else's."""
        return SavedModelRead.model_validate(await self._require(owner_id, model_id))

    async def default(self, owner_id: str) -> SavedModelRead | None:
        """The user's default model, or None."""
        row = await self._rows.default(owner_id)
        return None if row is None else SavedModelRead.model_validate(row)

    async def import_models(
        self,
        owner_id: str,
        provider: str,
        selections: list[ModelSelection],
        *,
        settings: dict[str, Any] | None = None,
        connection_id: str | None = None,
    ) -> list[SavedModelRead]:
        """Save `selections` of `provider`; one already saved is updated, not duplicated.

        When the user had no default, the first imported model becomes the default.
        """
        if not selections:
            raise Invalid("Select at least one model to import", param="selections")
        if len(selections) > MAX_SELECTIONS:
            raise Invalid(f"At most {MAX_SELECTIONS} models per import", param="selections")
        existing = {(r.provider, r.model): r for r in await self._rows.lock_owner(owner_id)}
        rows: list[SavedModel] = []
        for selection in selections:
            row = existing.get((provider, selection.model))
            if row is None:
                row = SavedModel(
                    user_id=owner_id, provider=provider, model=selection.model, is_default=False
                )
                self._rows.add(row)
                existing[(provider, selection.model)] = row
            row.name = selection.name or row.name or selection.model
            if selection.description is not None:
                row.description = selection.description
            row.settings = dict(settings or {})
            row.connection_id = connection_id
            if row not in rows:
                rows.append(row)
        await self._rows.flush()
        if not any(r.is_default for r in existing.values()):
            await self._rows.make_default(owner_id, rows[0].id)
        for row in rows:
            await self._rows.refresh(row)
        return [SavedModelRead.model_validate(r) for r in rows]

    async def delete(self, owner_id: str, model_id: str) -> None:
        """Delete a saved model; when it was the default, the oldest remaining one is."""
        await self._rows.lock_owner(owner_id)
        row = await self._require(owner_id, model_id)
        was_default = row.is_default
        await self._rows.delete(row)
        await self._rows.flush()
        if was_default:
            fallback = await self._rows.oldest_id(owner_id)
            if fallback is not None:
                await self._rows.make_default(owner_id, fallback)

    async def set_default(self, owner_id: str, model_id: str) -> SavedModelRead:
        """Make this model the default and every other one of the user's not."""
        await self._rows.lock_owner(owner_id)
        row = await self._require(owner_id, model_id)
        await self._rows.make_default(owner_id, row.id)
        await self._rows.refresh(row)
        return SavedModelRead.model_validate(row)

    async def _require(self, owner_id: str, model_id: str) -> SavedModel:
        key = canonical_id(model_id)
        row = await self._rows.get(owner_id, key) if key is not None else None
        if row is None:
            raise SavedModelNotFound()
        return row
