"""A small in-process cache of verified credentials, for the authentication hot path.

Verifying an API key or an access token costs a database round trip; at more than a
thousand requests a second most of them repeat the same few credentials. Entries are
keyed by the SHA-256 of the raw credential (the raw value is never kept) and live a few
seconds at most, never past the credential's own expiry.

Consistency: revoking in this process drops the matching entries at once. Another
replica (or a revocation that was rolled back and retried) may keep accepting a revoked
credential until its entry expires: revocation takes effect within `ttl_seconds`
(5 s by default) everywhere.

Concurrent misses for one credential share one verification (`shared`), so an entry
expiring under load costs one lookup, not one per waiting request; failures are not
shared (each waiter verifies for itself). Lifetimes can be shortened by a random
fraction (`ttl_jitter`) so that entries written together (a cold start) do not all
expire together; jitter never lengthens a lifetime.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from switchboard.core.accounts.principal import Principal

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    deadline: float


class CredentialCache:
    """Verified principals by credential digest, bounded in size and in age (LRU eviction)."""

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
        ttl_jitter: float = 0.0,
    ) -> None:
        if not 0.0 <= ttl_jitter < 1.0:
            raise ValueError("ttl_jitter must be in [0, 1)")
        self.ttl_seconds = ttl_seconds
        self.ttl_jitter = ttl_jitter
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Asyncio code needs no lock, but sync callers in worker threads may share the cache.
        self._lock = threading.Lock()
        # Verifications in progress, by digest (see `shared`).
        self.inflight: dict[str, asyncio.Future[Principal]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> Principal | None:
        """The cached principal for a credential digest, or None when absent or stale."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry.deadline <= self._monotonic():
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry.principal

    def put(self, digest: str, principal: Principal, *, max_age: float | None = None) -> None:
        """Remember a verified principal for at most the TTL (or `max_age`, if shorter)."""
        age = self.ttl_seconds if max_age is None else min(self.ttl_seconds, max_age)
        if age <= 0:
            return
        if self.ttl_jitter:
            age *= 1.0 - self.ttl_jitter * random.random()  # noqa: S311 - not a secret
        with self._lock:
            self._entries[digest] = _Entry(principal, self._monotonic() + age)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    async def shared(self, digest: str, verify: Callable[[], Awaitable[Principal]]) -> Principal:
        """`verify()`, run once for concurrent callers with the same digest.

        The first caller runs it; callers arriving while it runs wait for its principal.
        If it fails or is cancelled, each waiter runs `verify()` itself (errors are never
        shared); a waiter's own cancellation does not cancel the first caller.
        """
        loop = asyncio.get_running_loop()
        leader = self.inflight.get(digest)
        if leader is not None and leader.get_loop() is loop:
            try:
                return await asyncio.shield(leader)
            except asyncio.CancelledError:
                if not leader.cancelled():
                    raise  # we were cancelled
        mine: asyncio.Future[Principal] = loop.create_future()
        self.inflight[digest] = mine
        try:
            principal = await verify()
        except BaseException:
            mine.cancel()
            raise
        finally:
            if self.inflight.get(digest) is mine:
                del self.inflight[digest]
        mine.set_result(principal)
        return principal

    def invalidate(self, predicate: Callable[[Principal], bool]) -> int:
        """Drop every entry whose principal matches; the number dropped."""
        with self._lock:
            # Callers arriving from now on must not join a verification that may have
            # read the old rows.
            self.inflight.clear()
            doomed = [key for key, entry in self._entries.items() if predicate(entry.principal)]
            for key in doomed:
                del self._entries[key]
            return len(doomed)

    def invalidate_user(self, user_id: str) -> int:
        """Drop every credential of one user (logout everywhere, deletion, role change)."""
        return self.invalidate(lambda principal: principal.user_id == user_id)

    def invalidate_session(self, session_id: str) -> int:
        """Drop the access tokens of one session."""
        return self.invalidate(lambda principal: principal.session_id == session_id)

    def invalidate_api_key(self, api_key_id: str) -> int:
        """Drop one API key."""
        return self.invalidate(lambda principal: principal.api_key_id == api_key_id)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self.inflight.clear()
            self._entries.clear()
