"""ProviderService hands out one capability of a provider, or the one clear error."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.errors import ErrorKind
from switchboard.core.providers.capabilities import images_of
from switchboard.core.providers.errors import CapabilityMissing, UnknownProvider
from switchboard.core.providers.kinds import PROVIDER_KINDS, require
from switchboard.core.providers.known import KNOWN_PROVIDERS, KnownProvider
from switchboard.core.providers.ports import (
    Capability,
    EmbeddingProvider,
    ImageProvider,
    ModelAdministration,
    ProviderEndpoint,
)
from switchboard.core.providers.service import ProviderService
from switchboard.faces.pocketllm.schemas import SUPPORTED_PROVIDERS
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("owner@example.com")).id


async def _with_ollama(
    harness: Harness, upstream: FakeUpstream, work: Callable[[ProviderService], Awaitable[Any]]
) -> Any:
    """Run `work` with the operator's Ollama pointing at the fake."""
    endpoint = ProviderEndpoint(
        kind="ollama", provider="ollama", base_url=upstream.url, trusted=True
    )
    setup = dataclasses.replace(harness.ctx.providers, operator={"ollama": endpoint})
    async with harness.ctx.unit_of_work() as uow:
        return await work(ProviderService(uow.session, setup))


class TestHandOut:
    async def test_embeddings_of_a_kind_that_has_them(self, harness: Harness, owner: str) -> None:
        embedder = await harness.run(lambda s: s.providers.embeddings_for(owner, "echo"))

        assert isinstance(embedder, EmbeddingProvider)
        result = await embedder.embed("echo", ["a", "b"])
        assert len(result.vectors) == 2

    async def test_images_of_a_kind_that_has_them(self, harness: Harness, owner: str) -> None:
        images = await harness.run(lambda s: s.providers.images_for(owner, "echo"))

        assert isinstance(images, ImageProvider)

    async def test_model_administration_of_ollama(
        self, harness: Harness, owner: str, ollama_upstream: FakeUpstream
    ) -> None:
        admin = await _with_ollama(
            harness, ollama_upstream, lambda p: p.models_admin_for(owner, "ollama")
        )

        assert isinstance(admin, ModelAdministration)
        names = [m.name for m in await admin.local_models()]
        assert names == ollama_upstream.models

    async def test_chat_provider_is_unchanged(self, harness: Harness, owner: str) -> None:
        provider = await harness.run(lambda s: s.providers.provider_for(owner, "echo"))

        assert not isinstance(provider, ModelAdministration)
        assert (await provider.list_models())[0].provider == "echo"


class TestMissingCapability:
    @pytest.mark.parametrize(
        ("provider", "method", "message"),
        [
            ("anthropic", "images_for", "Provider 'anthropic' cannot generate images."),
            ("anthropic", "embeddings_for", "Provider 'anthropic' cannot create embeddings."),
            ("openai", "models_admin_for", "Provider 'openai' cannot manage its models."),
            ("groq", "models_admin_for", "Provider 'groq' cannot manage its models."),
            ("ollama", "images_for", "Provider 'ollama' cannot generate images."),
            ("echo", "models_admin_for", "Provider 'echo' cannot manage its models."),
        ],
    )
    async def test_one_clear_error(
        self, harness: Harness, owner: str, provider: str, method: str, message: str
    ) -> None:
        # Refused by the kind table before resolving: anthropic is not even configured.
        with pytest.raises(CapabilityMissing) as caught:
            await harness.run(lambda s: getattr(s.providers, method)(owner, provider))

        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.code == "unsupported_capability"
        assert caught.value.message == message

    async def test_unknown_provider_is_still_unknown(self, harness: Harness, owner: str) -> None:
        with pytest.raises(UnknownProvider):
            await harness.run(lambda s: s.providers.images_for(owner, "skynet"))

    def test_for_an_endpoint_already_resolved(self, harness: Harness) -> None:
        endpoint = ProviderEndpoint(kind="anthropic", provider="anthropic", api_key="k")

        with pytest.raises(CapabilityMissing, match="cannot generate images"):
            images_of(harness.ctx.providers.factory, endpoint)


class TestKindTable:
    def test_every_known_provider_names_a_kind(self) -> None:
        for known in KNOWN_PROVIDERS.values():
            assert known.provider_kind is PROVIDER_KINDS[known.kind]

    def test_a_provider_of_an_unknown_kind_cannot_be_declared(self) -> None:
        with pytest.raises(ValueError, match="unknown kind"):
            KnownProvider("skynet", "skynet", None, "Skynet")

    def test_comfyui_generates_images_and_runs_workflows_but_does_not_chat(self) -> None:
        comfyui = PROVIDER_KINDS["comfyui"]

        assert comfyui.capabilities == {Capability.IMAGES, Capability.WORKFLOWS}
        with pytest.raises(CapabilityMissing, match="Provider 'comfyui' cannot chat"):
            require("comfyui", "comfyui", Capability.CHAT)

    def test_only_ollama_administers_models(self) -> None:
        admins = {k.name for k in PROVIDER_KINDS.values() if k.can(Capability.MODEL_ADMIN)}

        assert admins == {"ollama"}

    def test_pocketllm_offers_only_known_providers(self) -> None:
        # PocketLLM's document lists its own provider names; each must be one we know.
        assert set(SUPPORTED_PROVIDERS) <= KNOWN_PROVIDERS.keys()
