"""`MediaStorage` on a local directory.

Every key goes through `kit.paths.safe_join`, so even a corrupted or hostile key cannot
reach outside the root. Writes are atomic (a temporary file in the same directory, then
`os.replace`), files are 0600 and directories 0700, and reads refuse a symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path

from switchboard.core.errors import NotFound
from switchboard.kit.paths import UnsafePath, read_no_follow, safe_join

_WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
MAX_READ_BYTES = 256 * 1024 * 1024


class LocalMediaStorage:
    """Bytes in files under `root` (created with mode 0700 when missing)."""

    def __init__(self, root: Path, *, max_read_bytes: int = MAX_READ_BYTES) -> None:
        self._root = Path(root).expanduser()
        self._max_read_bytes = max_read_bytes

    def __repr__(self) -> str:
        return f"LocalMediaStorage(root={str(self._root)!r})"

    async def put(self, key: str, data: bytes) -> None:
        """Write `data` to `key` atomically, mode 0600."""
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; `NotFound` when missing or refused."""
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is fine."""
        await asyncio.to_thread(self._delete, key)

    async def exists(self, key: str) -> bool:
        """Whether `key` is a regular file (not a symlink) under the root."""
        return await asyncio.to_thread(self._exists, key)

    # -- blocking work, run in a thread --------------------------------------------------
    def _ensure_root(self) -> Path:
        self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._root

    def _path(self, key: str) -> Path:
        try:
            return safe_join(self._ensure_root(), key)
        except UnsafePath:
            raise NotFound("Media not found") from None

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temp, _WRITE_FLAGS, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise

    def _get(self, key: str) -> bytes:
        try:
            return read_no_follow(self._path(key), max_bytes=self._max_read_bytes)
        except UnsafePath:
            raise NotFound("Media not found") from None

    def _delete(self, key: str) -> None:
        try:
            path = self._path(key)
        except NotFound:
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _exists(self, key: str) -> bool:
        try:
            path = self._path(key)
        except NotFound:
            return False
        return path.is_file() and not path.is_symlink()
