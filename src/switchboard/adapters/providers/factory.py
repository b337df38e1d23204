"""`DefaultProviderFactory`: one provider object per endpoint, over shared HTTP pools.

Providers are cached per (kind, provider, base URL, key hash, trusted): building an SDK
client is not free, and every provider for the same endpoint would be identical. The key
is hashed so the cache's keys never hold it. Vendor adapters are imported on first use,
so a deployment that never calls Gemini never imports google-genai.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import OrderedDict
from typing import Protocol

from switchboard.adapters.http import OutboundClients
from switchboard.core.bridge.ports import BridgeRelay
from switchboard.core.errors import Invalid
from switchboard.core.providers.kinds import PROVIDER_KINDS
from switchboard.core.providers.ports import Capability, ChatProvider, ProviderEndpoint

# kind -> (module, class); every class takes (endpoint, clients, timeout, connect_timeout)
# and implements the ports of its kind's capabilities in `core.providers.kinds`, no more.
ADAPTERS: dict[str, tuple[str, str]] = {
    "openai": ("switchboard.adapters.providers.openai", "OpenAIProvider"),
    "echo": ("switchboard.adapters.providers.echo", "EchoProvider"),
    "anthropic": ("switchboard.adapters.providers.anthropic", "AnthropicProvider"),
    "gemini": ("switchboard.adapters.providers.gemini", "GeminiProvider"),
    "ollama": ("switchboard.adapters.providers.ollama", "OllamaProvider"),
}
MAX_CACHED = 1024


def check_registry() -> None:
    """Fail unless `ADAPTERS` serves exactly the kinds that chat (the kinds this factory
    builds); the others (comfyui) have adapters of their own. Run at import, so a kind
    added to one list and not the other stops the process at start-up."""
    chat_kinds = {k.name for k in PROVIDER_KINDS.values() if k.can(Capability.CHAT)}
    if chat_kinds != ADAPTERS.keys():
        raise RuntimeError(
            f"provider kinds and adapters disagree: {sorted(chat_kinds ^ ADAPTERS.keys())}"
        )


check_registry()

CacheKey = tuple[str, str, str, str, bool]


class ProviderClass(Protocol):
    """The constructor every provider adapter has."""

    def __call__(
        self,
        endpoint: ProviderEndpoint,
        clients: OutboundClients,
        timeout: float,
        connect_timeout: float,
    ) -> ChatProvider: ...


def _cache_key(endpoint: ProviderEndpoint) -> CacheKey:
    key_hash = hashlib.sha256((endpoint.api_key or "").encode()).hexdigest()
    return (
        endpoint.kind.strip().lower(),
        endpoint.provider,
        endpoint.base_url or "",
        key_hash,
        endpoint.trusted,
    )


class DefaultProviderFactory:
    """Builds and caches provider adapters; all of them share `clients`' pools."""

    def __init__(
        self,
        clients: OutboundClients,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        *,
        relay: BridgeRelay | None = None,
    ) -> None:
        self._clients = clients
        # Reaches endpoints with a `bridge_id` (a user's desktop); None: none in this process.
        self._relay = relay
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        # Least recently used first: per-user keys make the set of endpoints unbounded.
        self._cache: OrderedDict[CacheKey, ChatProvider] = OrderedDict()

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        """The provider for `endpoint` (cached); `Invalid` for an unknown kind."""
        if endpoint.bridge_id is not None:
            return self._bridged(endpoint)
        key = _cache_key(endpoint)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        provider = self._adapter(key[0])(
            endpoint, self._clients, self._timeout, self._connect_timeout
        )
        self._cache[key] = provider
        if len(self._cache) > MAX_CACHED:
            # Dropping a provider is enough: the pools it used belong to `clients`.
            self._cache.popitem(last=False)
        return provider

    def _bridged(self, endpoint: ProviderEndpoint) -> ChatProvider:
        # Not cached: a relayed provider pools nothing, so building one costs little.
        from switchboard.adapters.providers.ollama.relay import bridged_ollama

        return bridged_ollama(
            endpoint, self._relay, self._clients, self._timeout, self._connect_timeout
        )

    async def check_base_url(self, url: str, *, private_ok: bool) -> None:
        """Refuse (`BlockedUrl`) a base URL the outbound policy would not connect to."""
        await self._clients.policy.check_url(url, trusted=private_ok, timeout=self._connect_timeout)

    @staticmethod
    def _adapter(kind: str) -> ProviderClass:
        target = ADAPTERS.get(kind)
        if target is None:
            raise Invalid(f"unknown provider kind {kind!r}", code="unknown_provider_kind")
        module = importlib.import_module(target[0])
        adapter: ProviderClass = getattr(module, target[1])
        return adapter

    async def aclose(self) -> None:
        """Forget every provider and close the shared HTTP pools."""
        self._cache.clear()
        await self._clients.aclose()
