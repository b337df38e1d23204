"""Live model catalogs from every provider a user can reach, fetched concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from switchboard.core.errors import SwitchboardError
from switchboard.core.llm import ModelInfo
from switchboard.core.providers.ports import ChatProvider
from switchboard.core.providers.service import ProviderService

PER_PROVIDER_TIMEOUT = 12.0
TOTAL_TIMEOUT = 30.0
CACHE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Catalog:
    """Models by provider, and the providers that failed to answer (with why)."""

    models: list[ModelInfo]
    configured: list[str]
    errors: dict[str, str] = field(default_factory=dict)


class CatalogCache:
    """Recent catalogs per (user, provider), shared by all requests of a process."""

    def __init__(
        self, ttl: float = CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[tuple[str, str], tuple[float, list[ModelInfo]]] = {}

    def get(self, user_id: str, provider: str) -> list[ModelInfo] | None:
        """The cached models, if fresh."""
        entry = self._entries.get((user_id, provider))
        if entry is None or self._monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put(self, user_id: str, provider: str, models: list[ModelInfo]) -> None:
        """Remember a fresh catalog."""
        self._entries[(user_id, provider)] = (self._monotonic(), models)

    def forget_user(self, user_id: str) -> None:
        """Drop a user's entries (after their connections change)."""
        for key in [k for k in self._entries if k[0] == user_id]:
            del self._entries[key]


class CatalogService:
    """Aggregates models across the caller's configured providers."""

    def __init__(self, providers: ProviderService, cache: CatalogCache) -> None:
        self._providers = providers
        self._cache = cache

    async def models(self, user_id: str, only: str | None = None) -> Catalog:
        """Every model the user can call, within the per-provider and total timeouts."""
        configured = await self._providers.configured_providers(user_id)
        if "echo" not in configured:
            configured.append("echo")
        models: list[ModelInfo] = []
        errors: dict[str, str] = {}
        clients: dict[str, ChatProvider] = {}
        # Endpoints come from the database session, which is not safe for concurrent use:
        # resolve them one by one, then fetch the catalogs concurrently.
        for name in (p for p in configured if only is None or p == only):
            cached = self._cache.get(user_id, name)
            if cached is not None:
                models.extend(cached)
                continue
            try:
                clients[name] = await self._providers.provider_for(user_id, name)
            except SwitchboardError as exc:
                errors[name] = exc.message
        fetched = await self._fetch_all(clients)
        for name, outcome in fetched.items():
            if isinstance(outcome, str):
                errors[name] = outcome
            else:
                self._cache.put(user_id, name, outcome)
                models.extend(outcome)
        return Catalog(models, sorted(configured), errors)

    @staticmethod
    async def _fetch_all(clients: dict[str, ChatProvider]) -> dict[str, list[ModelInfo] | str]:
        """Each provider's models, or why they could not be had."""

        async def one(client: ChatProvider) -> list[ModelInfo]:
            async with asyncio.timeout(PER_PROVIDER_TIMEOUT):
                return await client.list_models()

        tasks = {name: asyncio.create_task(one(client)) for name, client in clients.items()}
        if not tasks:
            return {}
        await asyncio.wait(tasks.values(), timeout=TOTAL_TIMEOUT)
        outcomes: dict[str, list[ModelInfo] | str] = {}
        for name, task in tasks.items():
            if not task.done():
                task.cancel()
                outcomes[name] = "timed out"
            elif isinstance(task.exception(), TimeoutError):
                outcomes[name] = "timed out"
            elif isinstance(task.exception(), SwitchboardError):
                outcomes[name] = str(task.exception())
            else:
                outcomes[name] = task.result()  # re-raises anything unexpected
        return outcomes
