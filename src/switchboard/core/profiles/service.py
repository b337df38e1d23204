"""Provider profiles: each profile is one of the user's provider connections.

A profile's connection carries its own label (`profile:<id>`), so profiles of a provider
coexist with the user's default connection for it and with each other. The key, its
binding to the profile's address and row, and the outbound policy for its URL are the
providers domain's; what only a profile has (name, type, options, prompt template,
modalities, its models) is kept in the connection's client settings under `profile`.
Resolving `connection_id=<profile id>` through `ProviderService.endpoint_for` therefore
reaches the profile's own endpoint.
"""

from __future__ import annotations

import time
from typing import Any

from switchboard.core.errors import Invalid, Timeout, UpstreamRejected, UpstreamUnavailable
from switchboard.core.profiles.errors import (
    ProfileModelExists,
    ProfileModelNotFound,
    ProfileNotFound,
    ProviderFixed,
)
from switchboard.core.profiles.schemas import (
    ConnectionCheck,
    ModelSync,
    Profile,
    ProfileChange,
    ProfileCreate,
    ProfileFields,
    ProfileModel,
)
from switchboard.core.providers.schemas import ConnectionRead, ConnectionUpdate
from switchboard.core.providers.service import ProviderService
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import new_id

LABEL_PREFIX = "profile:"
SETTINGS_KEY = "profile"
# The names profiles use for providers -> the provider switchboard knows.
PROFILE_PROVIDERS = {
    "ollama": "ollama",
    "openai": "openai",
    "gemini": "gemini",
    "claude": "anthropic",
    "anthropic": "anthropic",
    "comfyui": "comfyui",
}
# A known provider -> the name a profile shows for it.
SHOWN_AS = {"anthropic": "claude"}
# Fields of a change that live in the stored profile fields (not the connection).
FIELD_NAMES = (
    "name",
    "description",
    "type",
    "options",
    "prompt_template",
    "input_modalities",
    "output_modalities",
)

NULLABLE = frozenset({"description", "prompt_template"})


def provider_name(name: str) -> str:
    """The known provider behind a profile's provider name; `Invalid` for any other."""
    known = PROFILE_PROVIDERS.get(name.strip().lower())
    if known is None:
        shown = ", ".join(sorted(set(PROFILE_PROVIDERS) - {"anthropic"}))
        raise Invalid(f"Unknown provider '{name[:64]}': use one of {shown}", param="provider")
    return known


class ProfileService:
    """The user's profiles, their models and live checks, over `ProviderService`."""

    def __init__(self, providers: ProviderService) -> None:
        self._providers = providers

    async def list_profiles(self, owner_id: str, *, provider: str | None = None) -> list[Profile]:
        """The user's profiles, oldest first; only `provider`'s when given."""
        wanted = provider_name(provider) if provider is not None else None
        connections = await self._providers.connections_labelled(owner_id, LABEL_PREFIX)
        return [_profile(c) for c in connections if wanted in (None, c.provider)]

    async def get(self, owner_id: str, profile_id: str) -> Profile:
        """One of the user's profiles; `ProfileNotFound` for anyone else's."""
        return _profile(await self._connection(owner_id, profile_id))

    async def create(
        self, owner_id: str, new: ProfileCreate, *, allow_private: bool = False
    ) -> Profile:
        """Store a profile; its key is encrypted and bound to its URL (`allow_private`:
        the server's decision that the URL may be private, never the client's)."""
        fields = ProfileFields.model_validate(new.model_dump(include=set(FIELD_NAMES)))
        connection = await self._providers.save_connection(
            owner_id,
            provider_name(new.provider),
            api_key=new.api_key or None,
            base_url=new.url,
            label=f"{LABEL_PREFIX}{new_id()}",
            display_name=new.name,
            settings=_settings(fields),
            allow_private=allow_private,
        )
        return _profile(connection)

    async def update(
        self, owner_id: str, profile_id: str, change: ProfileChange, *, allow_private: bool = False
    ) -> Profile:
        """Apply the fields `change` sets (see `ProfileChange`)."""
        current = await self._connection(owner_id, profile_id)
        sent = change.model_fields_set
        if change.provider is not None and provider_name(change.provider) != current.provider:
            raise ProviderFixed(
                "A profile's provider cannot be changed: create a new profile instead",
                param="provider",
            )
        stored = _fields(current).model_dump()
        for name in sent.intersection(FIELD_NAMES):
            value = getattr(change, name)
            # Null clears what may be empty; for what a profile always has it keeps it.
            if value is not None or name in NULLABLE:
                stored[name] = value
        fields = ProfileFields.model_validate(stored)
        update = ConnectionUpdate(
            api_key=change.api_key or None,
            clear_key="api_key" in sent and not change.api_key,
            base_url=change.url,
            base_url_set="url" in sent,
            display_name=fields.name,
            settings=_settings(fields),
        )
        return await self._save(owner_id, current, update, allow_private)

    async def delete(self, owner_id: str, profile_id: str) -> None:
        """Delete a profile with its key."""
        current = await self._connection(owner_id, profile_id)
        await self._providers.delete_connection(owner_id, current.id)

    # -- models ------------------------------------------------------------------------
    async def models(self, owner_id: str, profile_id: str) -> list[ProfileModel]:
        """The models associated with a profile, in the order they were added."""
        return _fields(await self._connection(owner_id, profile_id)).models

    async def add_model(
        self, owner_id: str, profile_id: str, model_id: str, name: str | None
    ) -> ProfileModel:
        """Associate a model with a profile; `ProfileModelExists` when it already is."""
        current = await self._connection(owner_id, profile_id)
        fields = _fields(current)
        if any(m.model_id == model_id for m in fields.models):
            raise ProfileModelExists(f"Model '{model_id}' is already in this profile")
        model = ProfileModel(id=new_id(), model_id=model_id, name=name, created_at=utcnow())
        fields.models.append(model)
        await self._save_fields(owner_id, current, fields)
        return model

    async def remove_model(self, owner_id: str, profile_id: str, model: str) -> None:
        """Remove a model from a profile, named by its entry's id or its model id."""
        current = await self._connection(owner_id, profile_id)
        fields = _fields(current)
        kept = [m for m in fields.models if model not in (m.id, m.model_id)]
        if len(kept) == len(fields.models):
            raise ProfileModelNotFound("Model not found in this profile")
        fields.models = kept
        await self._save_fields(owner_id, current, fields)

    async def sync_models(self, owner_id: str, profile_id: str) -> ModelSync:
        """Make the profile's models the provider's current list: entries of models the
        provider no longer lists go, new ones are added (named as the provider names them)."""
        current = await self._connection(owner_id, profile_id)
        provider = await self._providers.provider_for(
            owner_id, current.provider, connection_id=current.id
        )
        listed = {m.id: m.name for m in await provider.list_models()}
        fields = _fields(current)
        kept = [m for m in fields.models if m.model_id in listed]
        known = {m.model_id for m in kept}
        now = utcnow()
        added = [
            ProfileModel(id=new_id(), model_id=model_id, name=name, created_at=now)
            for model_id, name in listed.items()
            if model_id not in known
        ]
        removed = len(fields.models) - len(kept)
        fields.models = kept + added
        await self._save_fields(owner_id, current, fields)
        return ModelSync(
            added=len(added), removed=removed, models=[m.model_id for m in fields.models]
        )

    # -- live checks -------------------------------------------------------------------
    async def test_connection(
        self,
        owner_id: str,
        provider: str,
        *,
        api_key: str | None,
        url: str | None,
        allow_private: bool = False,
    ) -> ConnectionCheck:
        """Try a credential without storing it: the provider is called, then its models
        listed. A provider that cannot be reached, refuses the key or is too slow is an
        answer (`connected=False` and why), not an error; a refused URL is `Invalid`."""
        trial = await self._providers.trial_provider(
            owner_id,
            provider_name(provider),
            api_key=api_key or None,
            base_url=url,
            allow_private=allow_private,
        )
        started = time.monotonic()
        try:
            await trial.test_connection()
            models = [m.id for m in await trial.list_models()]
        except (UpstreamUnavailable, UpstreamRejected, Timeout) as exc:
            latency_ms = round((time.monotonic() - started) * 1000)
            return ConnectionCheck(connected=False, latency_ms=latency_ms, error=exc.message)
        latency_ms = round((time.monotonic() - started) * 1000)
        return ConnectionCheck(connected=True, latency_ms=latency_ms, models=models)

    # -- internals -----------------------------------------------------------------------
    async def _connection(self, owner_id: str, profile_id: str) -> ConnectionRead:
        connection = await self._providers.connection_by_id(owner_id, profile_id)
        if connection is None or not connection.label.startswith(LABEL_PREFIX):
            raise ProfileNotFound("Profile not found")
        return connection

    async def _save_fields(
        self, owner_id: str, current: ConnectionRead, fields: ProfileFields
    ) -> None:
        update = ConnectionUpdate(settings=_settings(fields))
        # The URL is not changed here, so its trust is not decided again.
        await self._save(owner_id, current, update, allow_private=False)

    async def _save(
        self, owner_id: str, current: ConnectionRead, update: ConnectionUpdate, allow_private: bool
    ) -> Profile:
        connection = await self._providers.update_connection(
            owner_id, current.provider, update, allow_private=allow_private, label=current.label
        )
        return _profile(connection)


def _settings(fields: ProfileFields) -> dict[str, Any]:
    return {SETTINGS_KEY: fields.model_dump(mode="json")}


def _fields(connection: ConnectionRead) -> ProfileFields:
    stored = connection.settings.get(SETTINGS_KEY)
    data = stored if isinstance(stored, dict) else {}
    return ProfileFields.model_validate({"name": connection.display_name or ""} | data)


def _profile(connection: ConnectionRead) -> Profile:
    return Profile(
        **_fields(connection).model_dump(),
        id=connection.id,
        provider=SHOWN_AS.get(connection.provider, connection.provider),
        key_preview=connection.key_preview,
        has_key=connection.has_key,
        url=connection.base_url,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )
