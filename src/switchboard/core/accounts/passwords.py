"""Password hashing: argon2id through argon2-cffi, off the event loop.

Hashing costs tens of milliseconds of CPU by design. The async methods run it in a worker
thread (argon2-cffi releases the GIL), so a sign-in never stalls other requests.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from switchboard.kit.crypto import random_token

MIN_PASSWORD_LENGTH = 8
# argon2 accepts any length, but hashing megabytes per attempt is a cheap denial of service.
MAX_PASSWORD_LENGTH = 1024


class Passwords:
    """Hashes and verifies passwords with argon2id (RFC 9106 low-memory profile by default)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        # argon2-cffi's default parameters are the RFC 9106 low-memory profile, type argon2id.
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        """The encoded argon2id hash of `password`, with a fresh salt."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches `password_hash`; False for a mismatch or a bad hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time a real verification takes, so unknown emails are not revealed."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(random_token())
        self.verify(self._dummy_hash, password)

    async def hash_async(self, password: str) -> str:
        """`hash` in a worker thread."""
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        """`verify` in a worker thread; with no hash, a dummy verification and False."""
        if password_hash is None:
            await asyncio.to_thread(self.dummy_verify, password)
            return False
        return await asyncio.to_thread(self.verify, password_hash, password)
