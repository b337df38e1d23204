"""Storing and reading a user's files, inside the caller's unit of work.

The row is written in the caller's transaction; the bytes go to the storage adapter under
a key this service makes up (`<owner_id>/<uuid>.<ext>`), never one derived from input.
Only PNG, JPEG, WEBP and GIF are accepted, judged by their bytes, and a download always
carries the stored raster type with `nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import NotFound
from switchboard.core.media.errors import MediaNotFound, MediaTooLarge, UnsupportedMediaType
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.repository import MediaRepository
from switchboard.core.media.schemas import MediaDownload, MediaRead
from switchboard.core.media.sniff import EXTENSIONS, sniff_image
from switchboard.kit.ids import canonical_id, new_id
from switchboard.models import MediaFile

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# Declared types a caller may pass along with the bytes; the bytes still decide.
_NEUTRAL_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.\-]+")
DOWNLOAD_CSP = "default-src 'none'; sandbox"

AfterCommit = Callable[[], Awaitable[None]]
AfterCommitHook = Callable[[AfterCommit], None]


class MediaService:
    """A user's stored files."""

    def __init__(
        self,
        session: AsyncSession,
        storage: MediaStorage,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        after_commit: AfterCommitHook | None = None,
    ) -> None:
        self._repo = MediaRepository(session)
        self._storage = storage
        self._max_bytes = max_bytes
        # Deleting bytes must wait for the row's deletion to commit: a rollback would
        # otherwise leave a row pointing at nothing.
        self._after_commit = after_commit

    async def save(
        self,
        owner_id: str,
        data: bytes,
        mime_type: str | None = None,
        *,
        job_id: str | None = None,
        filename: str | None = None,
        kind: str = "image",
        attributes: dict[str, Any] | None = None,
    ) -> MediaRead:
        """Store an image for `owner_id`; refuses anything but PNG, JPEG, WEBP and GIF."""
        if not data or len(data) > self._max_bytes:
            raise MediaTooLarge(
                f"Files must be between 1 byte and {self._max_bytes} bytes", param="file"
            )
        sniffed = _checked_type(data, mime_type)
        key = f"{owner_id}/{new_id()}.{EXTENSIONS[sniffed]}"
        # Bytes first, row second: a failed write leaves no row; a rolled-back row leaves
        # an unreferenced file, which is harmless and never served.
        await self._storage.put(key, data)
        media = MediaFile(
            user_id=owner_id,
            job_id=job_id,
            kind=kind,
            mime_type=sniffed,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            filename=_clean_filename(filename),
            attributes=dict(attributes or {}),
        )
        self._repo.add(media)
        await self._repo.flush()
        return MediaRead.model_validate(media)

    async def get(self, owner_id: str, media_id: str) -> MediaRead:
        """The file's metadata; `MediaNotFound` for a missing file or another user's."""
        return MediaRead.model_validate(await self._require(owner_id, media_id))

    async def open(self, owner_id: str, media_id: str) -> tuple[MediaRead, bytes]:
        """The file's metadata and bytes; `MediaNotFound` when either is missing."""
        media = await self._require(owner_id, media_id)
        try:
            data = await self._storage.get(media.storage_key)
        except NotFound:
            raise MediaNotFound from None
        return MediaRead.model_validate(media), data

    async def download(self, owner_id: str, media_id: str) -> MediaDownload:
        """The file with the headers every face must send with it (forced raster type)."""
        media, data = await self.open(owner_id, media_id)
        return MediaDownload(media=media, body=data, headers=download_headers(media, len(data)))

    async def for_job(self, owner_id: str, job_id: str) -> list[MediaRead]:
        """The owner's files produced by `job_id`, in the order they were saved."""
        return [MediaRead.model_validate(m) for m in await self._repo.for_job(owner_id, job_id)]

    async def delete(self, owner_id: str, media_id: str) -> None:
        """Delete the file's row, and its bytes once that deletion is committed."""
        media = await self._require(owner_id, media_id)
        key = media.storage_key
        await self._repo.delete(media)
        await self._repo.flush()
        await self._remove_after_commit([key])

    async def remove_for_job(self, owner_id: str, job_id: str) -> None:
        """Delete the files `job_id` produced: rows now, bytes once that is committed."""
        files = await self._repo.for_job(owner_id, job_id)
        for media in files:
            await self._repo.delete(media)
        await self._repo.flush()
        await self._remove_after_commit([media.storage_key for media in files])

    async def purge_owner(self, owner_id: str) -> None:
        """Remove the bytes of every file of the owner once the caller's unit of work
        commits (their rows go with the account, by cascade)."""
        await self._remove_after_commit(await self._repo.keys_for_owner(owner_id))

    async def _remove_after_commit(self, keys: list[str]) -> None:
        async def remove_bytes() -> None:
            for key in keys:
                await self._storage.delete(key)

        if self._after_commit is None:
            await remove_bytes()
        else:
            self._after_commit(remove_bytes)

    async def _require(self, owner_id: str, media_id: str) -> MediaFile:
        canonical = canonical_id(media_id)
        media = await self._repo.get(owner_id, canonical) if canonical else None
        if media is None:
            raise MediaNotFound
        return media


def download_headers(media: MediaRead, length: int) -> dict[str, str]:
    """Headers for serving `media` inline without letting a browser reinterpret it."""
    if media.mime_type not in EXTENSIONS:  # rows are only written for these; defence in depth
        raise MediaNotFound
    return {
        "Content-Type": media.mime_type,
        "Content-Length": str(length),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        # The name comes from the id and the stored type, never from user input.
        "Content-Disposition": f'inline; filename="{media.id}.{EXTENSIONS[media.mime_type]}"',
        "Cache-Control": "private, max-age=86400",
    }


def _checked_type(data: bytes, declared: str | None) -> str:
    declared_type = (declared or "").split(";", 1)[0].strip().lower()
    if declared_type not in _NEUTRAL_TYPES and declared_type not in EXTENSIONS:
        raise UnsupportedMediaType(
            f"Unsupported media type '{declared_type[:100]}'; only PNG, JPEG, WEBP and GIF "
            "images are accepted",
            param="mime_type",
        )
    sniffed = sniff_image(data)
    if sniffed is None:
        raise UnsupportedMediaType(
            "The file is not a PNG, JPEG, WEBP or GIF image", param="mime_type"
        )
    return sniffed


def _clean_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    # Keep a display name only: no directories, no characters that need quoting anywhere.
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", base).lstrip(".-")[:255]
    return cleaned or None
