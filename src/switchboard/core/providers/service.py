"""Which endpoint and credential serve a user's call to a provider.

Resolution order: an explicit connection (a chat's own key), the user's connection for
the provider, the operator's environment credentials, and the built-in `echo`.
A stored key is encrypted together with the origin it was saved for and is only ever
sent to that origin: changing the base URL needs the key again, so a changed URL
cannot carry it elsewhere. The ciphertext is also sealed to its row (connection id and
owner, as associated data), so a ciphertext copied into another row does not open there.

Whether a connection may reach private addresses is the server's decision, kept in its
own column: the client's `settings` (PocketLLM's `metadata`) never carry it, and
reserved keys there are refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Invalid
from switchboard.core.providers.cache import EndpointCache
from switchboard.core.providers.capabilities import (
    chat_of,
    embeddings_of,
    images_of,
    model_admin_of,
)
from switchboard.core.providers.errors import (
    KeyBoundElsewhere,
    ProviderNotConfigured,
    UnknownProvider,
    UnsafeUpstreamUrl,
)
from switchboard.core.providers.kinds import require
from switchboard.core.providers.known import KnownProvider, known_provider
from switchboard.core.providers.ports import (
    BaseUrlPolicy,
    Capability,
    ChatProvider,
    EmbeddingProvider,
    ImageProvider,
    ModelAdministration,
    ProviderEndpoint,
    ProviderFactory,
)
from switchboard.core.providers.repository import ProviderConnectionRepository
from switchboard.core.providers.schemas import ConnectionRead, ConnectionUpdate
from switchboard.kit import netpolicy
from switchboard.kit.crypto import SecretBox, SecretDecryptError, mask_secret
from switchboard.kit.ids import new_id
from switchboard.models import ProviderConnection

# Keys the server decides; a client's settings naming one are refused, never merged.
RESERVED_SETTINGS = frozenset({"private_ok", "allow_private", "trusted", "key_origin"})
# One answer for every unusable base URL (bad scheme, refused address, name that does
# not resolve): which of them it was would tell a caller about the internal network.
URL_REFUSED = (
    "The base URL cannot be used: it must be an http(s) URL of a host this server is "
    "allowed to reach."
)


@dataclass(frozen=True, slots=True)
class ProviderSetup:
    """What the composition root decided: operator endpoints and the outbound policy."""

    factory: ProviderFactory
    secrets: SecretBox
    operator: Mapping[str, ProviderEndpoint]
    allow_private_upstreams: bool = False
    # Other process caches built from a user's connections (the model catalogs): each is
    # told the user's id whenever their connections change, as the endpoint cache is.
    on_change: tuple[Callable[[str], None], ...] = field(default=(), compare=False, repr=False)
    # Resolved endpoints, shared by every request of the process (see its module). Not an
    # init field: a setup copied with other operators or secrets gets an empty cache.
    endpoints: EndpointCache = field(
        default_factory=EndpointCache, init=False, compare=False, repr=False
    )


class ProviderService:
    """Provider connections of users and the endpoints that serve their calls.

    `after_commit` (the unit of work's) lets a change drop cached endpoints and catalogs
    again once it is committed, so no request can cache what it read before the commit.
    """

    def __init__(
        self,
        session: AsyncSession,
        setup: ProviderSetup,
        *,
        after_commit: Callable[[Callable[[], Awaitable[None]]], None] | None = None,
    ) -> None:
        self._repo = ProviderConnectionRepository(session)
        self._setup = setup
        self._after_commit = after_commit
        self._pending_invalidation: set[str] = set()

    # -- resolving ---------------------------------------------------------------------
    async def provider_for(
        self, owner_id: str, provider: str, *, connection_id: str | None = None
    ) -> ChatProvider:
        """A ready chat provider for `owner_id`'s call to `provider`."""
        endpoint = await self._capable(owner_id, provider, Capability.CHAT, connection_id)
        return chat_of(self._setup.factory, endpoint)

    async def embeddings_for(
        self, owner_id: str, provider: str, *, connection_id: str | None = None
    ) -> EmbeddingProvider:
        """`provider`'s embeddings for `owner_id`; `CapabilityMissing` when it has none."""
        endpoint = await self._capable(owner_id, provider, Capability.EMBEDDINGS, connection_id)
        return embeddings_of(self._setup.factory, endpoint)

    async def images_for(
        self, owner_id: str, provider: str, *, connection_id: str | None = None
    ) -> ImageProvider:
        """`provider`'s image generation for `owner_id`; `CapabilityMissing` when it has none."""
        endpoint = await self._capable(owner_id, provider, Capability.IMAGES, connection_id)
        return images_of(self._setup.factory, endpoint)

    async def models_admin_for(
        self, owner_id: str, provider: str, *, connection_id: str | None = None
    ) -> ModelAdministration:
        """The model administration of `owner_id`'s `provider` server (Ollama);
        `CapabilityMissing` for a provider that has none."""
        endpoint = await self._capable(owner_id, provider, Capability.MODEL_ADMIN, connection_id)
        return model_admin_of(self._setup.factory, endpoint)

    async def _capable(
        self, owner_id: str, provider: str, capability: Capability, connection_id: str | None
    ) -> ProviderEndpoint:
        # Refused by the kind table before any endpoint is resolved: the same clear error
        # whether or not the user has set the provider up.
        known = _known(provider)
        require(known.kind, known.name, capability)
        return await self.endpoint_for(owner_id, known.name, connection_id=connection_id)

    async def endpoint_for(
        self, owner_id: str, provider: str, *, connection_id: str | None = None
    ) -> ProviderEndpoint:
        """The endpoint (base URL and key) that serves `owner_id`'s call to `provider`.

        Answers from the process's endpoint cache when it can: no database I/O on the
        hot path once a user's endpoint is known (see `core.providers.cache`).
        """
        known = _known(provider)
        cache = self._setup.endpoints
        key = (owner_id, known.name, connection_id)
        cached = cache.get(key)
        if cached is not None:
            return cached
        leader = cache.inflight.get(key)
        if leader is not None:
            try:
                return await asyncio.shield(leader)
            except asyncio.CancelledError:
                # The first resolution failed or was cancelled (then resolve for
                # ourselves: errors are never shared or cached), or we were cancelled.
                if not leader.cancelled():
                    raise
        generation = cache.generation()
        mine: asyncio.Future[ProviderEndpoint] = asyncio.get_running_loop().create_future()
        cache.inflight[key] = mine
        try:
            endpoint = await self._resolve(owner_id, known, connection_id)
        except BaseException:
            mine.cancel()
            raise
        finally:
            if cache.inflight.get(key) is mine:
                del cache.inflight[key]
        mine.set_result(endpoint)
        cache.put(key, endpoint, generation)
        return endpoint

    async def _resolve(
        self, owner_id: str, known: KnownProvider, connection_id: str | None
    ) -> ProviderEndpoint:
        connection = None
        if connection_id is not None:
            connection = await self._repo.get(owner_id, connection_id)
        # An explicit connection for another provider (a chat's key, model switched) must
        # not hide the user's own default connection for this one.
        if connection is None or not connection.is_active or connection.provider != known.name:
            connection = await self._repo.get_by_label(owner_id, known.name, "default")
        if connection is not None and connection.is_active and connection.provider == known.name:
            return self._endpoint_from_connection(known, connection)
        operator = self._setup.operator.get(known.name)
        if operator is not None:
            return operator
        if known.kind == "echo":
            return ProviderEndpoint(kind="echo", provider="echo", trusted=True)
        raise ProviderNotConfigured(
            f"Provider '{known.name}' is not configured. Add an API key for it first.",
            param="model",
        )

    async def configured_providers(self, owner_id: str) -> list[str]:
        """Provider names this user can call right now, sorted."""
        names = {name for name in self._setup.operator}
        for connection in await self._repo.for_owner(owner_id):
            if connection.is_active and (connection.encrypted_key or connection.base_url):
                names.add(connection.provider)
        return sorted(names)

    # -- managing connections ------------------------------------------------------------
    async def list_connections(self, owner_id: str) -> list[ConnectionRead]:
        """The user's own provider connections."""
        return [_read(c) for c in await self._repo.for_owner(owner_id)]

    async def get_connection(
        self, owner_id: str, provider: str, label: str = "default"
    ) -> ConnectionRead | None:
        """The user's connection to `provider`, or None."""
        connection = await self._repo.get_by_label(owner_id, _known(provider).name, label)
        return _read(connection) if connection else None

    async def save_connection(
        self,
        owner_id: str,
        provider: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        label: str = "default",
        display_name: str | None = None,
        settings: Mapping[str, Any] | None = None,
        allow_private: bool = False,
        test: bool = False,
    ) -> ConnectionRead:
        """Create or replace the user's connection; the key is encrypted and bound to its origin.

        `settings` (the client's own data) are merged into the stored ones; reserved keys
        are refused. `allow_private` is for server-side callers only: no face passes a
        client's wish here. With `test`, the credential is tried live first and nothing
        is stored if it fails.
        """
        known = _known(provider)
        client_settings = _client_settings(settings)
        base_url = await self._checked_base_url(known, base_url, allow_private)
        if test:
            # Tried on a detached copy: a failing credential must not replace a stored one.
            await self._detached(
                owner_id, known, api_key, base_url, label, allow_private
            ).test_connection()
        connection = await self._repo.get_by_label(owner_id, known.name, label)
        if connection is None:
            # The id is set now: the key is sealed to it before the row is flushed.
            connection = ProviderConnection(
                id=new_id(), user_id=owner_id, provider=known.name, label=label
            )
            self._repo.add(connection)
        connection.base_url = base_url
        connection.display_name = display_name or connection.display_name
        connection.is_active = True
        connection.private_ok = allow_private
        connection.settings = _merged(connection.settings, client_settings)
        self._store_key(known, connection, api_key)
        self._changed(owner_id)
        await self._repo.flush()
        return _read(connection)

    async def trial_provider(
        self,
        owner_id: str,
        provider: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        allow_private: bool = False,
    ) -> ChatProvider:
        """A chat provider for a credential that is not stored (a connection test): the
        base URL goes through the outbound policy and the key is bound to it as if saved."""
        known = _known(provider)
        require(known.kind, known.name, Capability.CHAT)
        base_url = await self._checked_base_url(known, base_url, allow_private)
        return self._detached(owner_id, known, api_key, base_url, "trial", allow_private)

    async def connection_by_id(self, owner_id: str, connection_id: str) -> ConnectionRead | None:
        """One of the user's connections by id, whatever its label; None for anyone else's."""
        connection = await self._repo.get(owner_id, connection_id)
        return _read(connection) if connection else None

    async def connections_labelled(self, owner_id: str, prefix: str) -> list[ConnectionRead]:
        """The user's connections whose label starts with `prefix`, oldest first."""
        connections = await self._repo.for_owner(owner_id, label=None)
        found = [_read(c) for c in connections if c.label.startswith(prefix)]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def update_connection(
        self,
        owner_id: str,
        provider: str,
        change: ConnectionUpdate,
        *,
        allow_private: bool = False,
        label: str = "default",
    ) -> ConnectionRead:
        """Apply a partial change; a new base URL without a new key drops the old key.

        A new base URL is checked again and its trust is `allow_private` (server-side
        callers only); client settings naming a reserved key are refused.
        """
        known = _known(provider)
        client_settings = _client_settings(change.settings)
        connection = await self._require(owner_id, known.name, label)
        if change.base_url_set and change.base_url != connection.base_url:
            connection.base_url = await self._checked_base_url(
                known, change.base_url, allow_private
            )
            connection.private_ok = allow_private
            if change.api_key is None:
                self._store_key(known, connection, None)
        if change.api_key is not None:
            self._store_key(known, connection, change.api_key)
        elif change.clear_key:
            self._store_key(known, connection, None)
        if change.is_active is not None:
            connection.is_active = change.is_active
        if change.display_name is not None:
            connection.display_name = change.display_name
        if client_settings is not None:
            connection.settings = _merged(connection.settings, client_settings)
        self._changed(owner_id)
        await self._repo.flush()
        return _read(connection)

    async def deactivate_connection(self, owner_id: str, provider: str) -> None:
        """Mark the connection inactive and erase its key material."""
        connection = await self._require(owner_id, _known(provider).name)
        connection.is_active = False
        self._store_key(_known(provider), connection, None)
        self._changed(owner_id)

    async def delete_connection(self, owner_id: str, connection_id: str) -> None:
        """Delete one of the user's connections by id (404 for anyone else's)."""
        connection = await self._repo.get(owner_id, connection_id)
        if connection is None:
            raise ProviderNotConfigured("Provider connection not found")
        self._changed(owner_id)
        await self._repo.delete(connection)

    async def purge_owner(self, owner_id: str) -> None:
        """Forget what this process cached from the owner's connections once their account's
        deletion commits (the rows go with the account, by cascade)."""
        self._changed(owner_id)

    async def test_connection(self, owner_id: str, provider: str) -> None:
        """Call the provider with the user's credential; raises the upstream's error kind."""
        await (await self.provider_for(owner_id, provider)).test_connection()

    async def rotate_secrets(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-encrypt every stored key under the newest secret key; returns how many.

        Keys stored by earlier versions (not sealed to their row) are sealed now.
        `progress(done, total)` is told after each key (and once before the first).
        """
        connections = await self._repo.all_with_keys()
        secrets = self._setup.secrets
        total = len(connections)
        if progress is not None:
            progress(0, total)
        for done, connection in enumerate(connections, start=1):
            assert connection.encrypted_key is not None
            bound = secrets.is_bound(connection.encrypted_key)
            plaintext = secrets.decrypt(
                connection.encrypted_key, _sealed_to(connection) if bound else None
            )
            connection.encrypted_key = secrets.encrypt(plaintext, _sealed_to(connection))
            if progress is not None:
                progress(done, total)
        self._setup.endpoints.clear()
        return len(connections)

    # -- internals -----------------------------------------------------------------------
    def _changed(self, owner_id: str) -> None:
        """Drop what was cached from `owner_id`'s connections (endpoints, catalogs) now
        and once this unit of work commits."""
        self._forget(owner_id)
        if self._after_commit is None or owner_id in self._pending_invalidation:
            return
        self._pending_invalidation.add(owner_id)

        async def invalidate() -> None:
            self._pending_invalidation.discard(owner_id)
            self._forget(owner_id)

        self._after_commit(invalidate)

    def _forget(self, owner_id: str) -> None:
        self._setup.endpoints.invalidate_user(owner_id)
        for forget in self._setup.on_change:
            forget(owner_id)

    async def _require(
        self, owner_id: str, provider: str, label: str = "default"
    ) -> ProviderConnection:
        connection = await self._repo.get_by_label(owner_id, provider, label)
        if connection is None:
            raise ProviderNotConfigured(f"Provider '{provider}' not found")
        return connection

    async def _checked_base_url(
        self, known: KnownProvider, base_url: str | None, allow_private: bool
    ) -> str | None:
        if not base_url:
            if known.default_base_url is None and known.kind != "echo":
                raise UnsafeUpstreamUrl(
                    f"Provider '{known.name}' needs a base URL", param="baseUrl"
                )
            return None
        private_ok = allow_private or self._setup.allow_private_upstreams
        try:
            await self._check_url(base_url, private_ok)
        except (netpolicy.BlockedUrl, ValueError, OSError):
            raise UnsafeUpstreamUrl(URL_REFUSED, param="baseUrl") from None
        return base_url.rstrip("/")

    async def _check_url(self, base_url: str, private_ok: bool) -> None:
        factory = self._setup.factory
        if isinstance(factory, BaseUrlPolicy):
            # The same policy the HTTP layer applies when it connects (exemptions too).
            await factory.check_base_url(base_url, private_ok=private_ok)
            return
        # A factory without the policy (a test double): the policy's rules, no exemptions.
        origin = netpolicy.check_url_syntax(base_url)
        await netpolicy.resolve_and_check(origin.host, origin.port, private_ok)

    def _detached(
        self,
        owner_id: str,
        known: KnownProvider,
        api_key: str | None,
        base_url: str | None,
        label: str,
        allow_private: bool,
    ) -> ChatProvider:
        """A provider for a connection that is never added to the session."""
        candidate = ProviderConnection(
            id=new_id(),
            user_id=owner_id,
            provider=known.name,
            label=label,
            base_url=base_url,
            private_ok=allow_private,
        )
        self._store_key(known, candidate, api_key)
        return self._setup.factory.provider(self._endpoint_from_connection(known, candidate))

    def _effective_base_url(
        self, known: KnownProvider, connection: ProviderConnection
    ) -> str | None:
        if connection.base_url:
            return connection.base_url
        operator = self._setup.operator.get(known.name)
        if operator is not None and operator.base_url:
            return operator.base_url
        return known.default_base_url

    def _store_key(
        self, known: KnownProvider, connection: ProviderConnection, api_key: str | None
    ) -> None:
        if not api_key:
            connection.encrypted_key = None
            connection.key_preview = None
            connection.key_origin = None
            return
        origin = _origin(self._effective_base_url(known, connection))
        payload = json.dumps({"origin": origin, "key": api_key})
        connection.encrypted_key = self._setup.secrets.encrypt(payload, _sealed_to(connection))
        connection.key_preview = mask_secret(api_key)
        connection.key_origin = origin

    def _endpoint_from_connection(
        self, known: KnownProvider, connection: ProviderConnection
    ) -> ProviderEndpoint:
        base_url = self._effective_base_url(known, connection)
        api_key = None
        if connection.encrypted_key:
            try:
                # Keys stored before sealing are Fernet tokens: readable, bound by origin.
                payload = json.loads(
                    self._setup.secrets.decrypt(connection.encrypted_key, _sealed_to(connection))
                )
            except (SecretDecryptError, ValueError) as exc:
                raise KeyBoundElsewhere(
                    f"The stored key for '{known.name}' cannot be read; enter it again."
                ) from exc
            if not isinstance(payload, dict) or payload.get("origin") != _origin(base_url):
                raise KeyBoundElsewhere(
                    f"The stored key for '{known.name}' was saved for another address; "
                    "enter it again."
                )
            api_key = payload.get("key")
        return ProviderEndpoint(
            kind=known.kind,
            provider=known.name,
            base_url=base_url,
            api_key=api_key,
            trusted=bool(connection.private_ok) or self._setup.allow_private_upstreams,
        )


def _known(provider: str) -> KnownProvider:
    known = known_provider(provider)
    if known is None:
        raise UnknownProvider(f"Unknown provider '{provider}'", param="provider")
    return known


def _origin(base_url: str | None) -> str:
    return netpolicy.origin_of(base_url) if base_url else "builtin:"


def _sealed_to(connection: ProviderConnection) -> bytes:
    """The associated data a stored key is sealed to: its row and its owner."""
    return f"provider_connection:{connection.id}:{connection.user_id}".encode()


def _client_settings(settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The client's settings, refused when they name a key the server decides."""
    if settings is None:
        return None
    reserved = sorted(RESERVED_SETTINGS.intersection(settings))
    if reserved:
        raise Invalid(
            f"metadata may not contain {', '.join(repr(k) for k in reserved)}: "
            "these are decided by the server",
            code="reserved_metadata",
            param="metadata",
        )
    return dict(settings)


def _merged(stored: Mapping[str, Any] | None, client: Mapping[str, Any] | None) -> dict[str, Any]:
    # Reserved keys left by earlier versions are dropped whenever a row is written.
    kept = {k: v for k, v in (stored or {}).items() if k not in RESERVED_SETTINGS}
    return kept | dict(client or {})


def _read(connection: ProviderConnection) -> ConnectionRead:
    return ConnectionRead(
        id=connection.id,
        provider=connection.provider,
        label=connection.label,
        base_url=connection.base_url,
        key_preview=connection.key_preview,
        has_key=connection.encrypted_key is not None,
        is_active=connection.is_active,
        display_name=connection.display_name,
        settings={
            k: v for k, v in (connection.settings or {}).items() if k not in RESERVED_SETTINGS
        },
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )
