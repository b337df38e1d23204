"""What the media domain needs from outside: somewhere to keep bytes."""

from __future__ import annotations

from typing import Protocol


class MediaStorage(Protocol):
    """Bytes by key. Keys are made by `MediaService`, never taken from user input.

    `get` raises `core.errors.NotFound` for a missing key; `delete` of a missing key is
    not an error (deletion is retried after failures and must be idempotent).
    """

    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing whatever was there, atomically."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether `key` holds bytes."""
        ...
