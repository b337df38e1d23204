"""Media rows, looked up within their owner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import MediaFile


class MediaRepository:
    """Owner-scoped access to `media_files`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, owner_id: str, media_id: str) -> MediaFile | None:
        """The file, if `owner_id` owns it."""
        return await self._session.scalar(
            select(MediaFile).where(MediaFile.id == media_id, MediaFile.user_id == owner_id)
        )

    async def for_job(self, owner_id: str, job_id: str) -> list[MediaFile]:
        """The owner's files produced by `job_id`, oldest first."""
        rows = await self._session.scalars(
            select(MediaFile)
            .where(MediaFile.user_id == owner_id, MediaFile.job_id == job_id)
            .order_by(MediaFile.created_at, MediaFile.filename, MediaFile.id)
        )
        return list(rows)

    async def keys_for_owner(self, owner_id: str) -> list[str]:
        """Where every file of the owner is stored."""
        rows = await self._session.scalars(
            select(MediaFile.storage_key).where(MediaFile.user_id == owner_id)
        )
        return list(rows)

    def add(self, media: MediaFile) -> None:
        """Stage a new file row."""
        self._session.add(media)

    async def delete(self, media: MediaFile) -> None:
        """Delete a file row."""
        await self._session.delete(media)

    async def flush(self) -> None:
        """Write staged changes so that defaults are filled in."""
        await self._session.flush()
