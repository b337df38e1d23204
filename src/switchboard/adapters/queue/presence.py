"""Worker heartbeats in Redis: a key per worker, and a set naming them.

`{prefix}:worker:{id}` holds the moment its beat lapses (epoch seconds) and expires
with it, so a killed worker vanishes by itself; `{prefix}:workers` names the workers so
that counting them reads a few keys rather than scanning the whole database. Whether a
beat is alive is decided from the stored moment and the caller's clock (Redis's expiry
only collects what is left), so tests move time by hand instead of waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError


class RedisWorkerPresence:
    """A `WorkerPresence` on Redis, every key under `prefix`."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self._url = url
        self._index = f"{prefix}:workers"
        self._key_prefix = f"{prefix}:worker:"
        self._redis: Redis | None = None

    def key(self, worker_id: str) -> str:
        """The heartbeat key of `worker_id`."""
        return self._key_prefix + worker_id

    async def beat(self, worker_id: str, now: datetime, ttl_seconds: float) -> None:
        """Store the beat, lasting `ttl_seconds` from `now`."""
        ttl_ms = max(int(ttl_seconds * 1000), 1)
        until = now.timestamp() + ttl_seconds
        try:
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.set(self.key(worker_id), repr(until), px=ttl_ms)
                pipe.sadd(self._index, worker_id)
                # The set outlives every beat it names by one beat at most.
                pipe.pexpire(self._index, ttl_ms)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ConnectionError("worker heartbeats unreachable") from exc

    async def leave(self, worker_id: str) -> None:
        """Remove the beat at once (a graceful stop)."""
        try:
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.delete(self.key(worker_id))
                pipe.srem(self._index, worker_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ConnectionError("worker heartbeats unreachable") from exc

    async def alive(self, now: datetime) -> list[str]:
        """Workers whose beat lasts past `now`; names whose key expired are dropped."""
        try:
            redis = self._client()
            names = sorted(_text(name) for name in await redis.smembers(self._index))  # type: ignore[misc]
            if not names:
                return []
            values: list[Any] = await redis.mget([self.key(name) for name in names])
            gone = [name for name, value in zip(names, values, strict=True) if value is None]
            if gone:
                await redis.srem(self._index, *gone)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            raise ConnectionError("worker heartbeats unreachable") from exc
        moment = now.timestamp()
        return [
            name
            for name, value in zip(names, values, strict=True)
            if value is not None and float(value) > moment
        ]

    async def aclose(self) -> None:
        """Close the connection pool, if one was opened."""
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis.aclose()

    def _client(self) -> Redis:
        # Opened on first use: a context built for a CLI command never connects.
        if self._redis is None:
            self._redis = Redis.from_url(self._url, socket_connect_timeout=2.0, socket_timeout=5.0)
        return self._redis


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
