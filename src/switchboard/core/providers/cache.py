"""A small in-process cache of resolved endpoints, for the gateway hot path.

Resolving which endpoint serves a call reads the user's provider connection and decrypts
its key: a database round trip per request, for an answer that almost never changes.
Entries are keyed by (user, provider, explicit connection id), live a few seconds at
most, and the cache is bounded (the oldest entries are dropped first). The
resolved endpoint holds the decrypted key in memory only, as the provider clients built
from it already do.

Concurrent misses for the same key share one resolution (see `inflight`), so an entry
expiring under load costs one query, not one per waiting request.

Consistency: a change to a user's connections through this process drops that user's
entries at once and again after the change commits (a request that read the old row
while the change was uncommitted cannot keep it). Another replica may keep serving the
previous endpoint for a changed or deleted connection until its entry expires: a
connection change takes effect within `ttl_seconds` (5 s by default) everywhere.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.core.providers.ports import ProviderEndpoint

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000

EndpointKey = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class _Entry:
    endpoint: ProviderEndpoint
    deadline: float


class EndpointCache:
    """Resolved endpoints by (user, provider, connection id), bounded in size and age."""

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[EndpointKey, _Entry] = OrderedDict()
        # Bumped on every invalidation: a resolution that started before one must not
        # store what it read (it may have read the old row). One counter for everyone:
        # changes are rare, and a missed fill costs one query.
        self._generation = 0
        self._lock = threading.Lock()
        # Resolutions in progress: concurrent misses for one key wait for the first one
        # instead of each running the same query (a cold start or an expiry under load).
        self.inflight: dict[EndpointKey, asyncio.Future[ProviderEndpoint]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def generation(self) -> int:
        """The invalidation count; read it before resolving and pass it back to `put`."""
        return self._generation

    def get(self, key: EndpointKey) -> ProviderEndpoint | None:
        """The cached endpoint, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.deadline <= self._monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry.endpoint

    def put(self, key: EndpointKey, endpoint: ProviderEndpoint, generation: int) -> None:
        """Remember `endpoint` unless anything was invalidated since `generation`."""
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if self._generation != generation:
                return
            self._entries[key] = _Entry(endpoint, self._monotonic() + self.ttl_seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def invalidate_user(self, owner_id: str) -> None:
        """Forget every endpoint resolved for `owner_id`."""
        with self._lock:
            self._generation += 1
            for key in [key for key in self._entries if key[0] == owner_id]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
