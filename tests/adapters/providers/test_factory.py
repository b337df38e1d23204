"""The provider factory: dispatch by kind, caching per endpoint, unknown kinds refused,
and its registry in step with the one kind table."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers import factory as factory_module
from switchboard.adapters.providers.echo import EchoProvider
from switchboard.adapters.providers.factory import ADAPTERS, DefaultProviderFactory
from switchboard.adapters.providers.openai import OpenAIProvider
from switchboard.core.errors import Invalid
from switchboard.core.providers.kinds import PROVIDER_KINDS
from switchboard.core.providers.ports import (
    BaseUrlPolicy,
    Capability,
    EmbeddingProvider,
    ImageProvider,
    ModelAdministration,
    ProviderEndpoint,
)
from switchboard.kit.netpolicy import BlockedUrl


@pytest.fixture
async def factory() -> AsyncIterator[DefaultProviderFactory]:
    built = DefaultProviderFactory(OutboundClients(), timeout=5.0, connect_timeout=2.0)
    yield built
    await built.aclose()


def endpoint(kind: str = "openai", key: str | None = "sk-a", **kwargs: object) -> ProviderEndpoint:
    base = {"provider": "custom", "base_url": "http://10.0.0.5:8000/v1", "trusted": True}
    base.update(kwargs)
    return ProviderEndpoint(kind=kind, api_key=key, **base)  # type: ignore[arg-type]


class TestFactory:
    def test_dispatches_on_kind(self, factory: DefaultProviderFactory) -> None:
        assert isinstance(factory.provider(endpoint("openai")), OpenAIProvider)
        assert isinstance(factory.provider(endpoint("echo", key=None, base_url=None)), EchoProvider)

    def test_caches_per_endpoint(self, factory: DefaultProviderFactory) -> None:
        first = factory.provider(endpoint())
        assert factory.provider(endpoint()) is first
        assert factory.provider(endpoint(key="sk-b")) is not first
        assert factory.provider(endpoint(trusted=False)) is not first
        assert factory.provider(endpoint(base_url="http://10.0.0.6/v1")) is not first

    def test_cache_keys_never_hold_the_key(self, factory: DefaultProviderFactory) -> None:
        factory.provider(endpoint(key="sk-very-secret-key-123"))
        assert "sk-very-secret-key-123" not in repr(list(factory._cache))

    def test_unknown_kind(self, factory: DefaultProviderFactory) -> None:
        with pytest.raises(Invalid) as caught:
            factory.provider(endpoint("carrier-pigeon"))
        assert caught.value.code == "unknown_provider_kind"


# The ports an adapter may have besides chat, each with one of its methods.
OPTIONAL_PORTS = {
    Capability.EMBEDDINGS: (EmbeddingProvider, "embed"),
    Capability.IMAGES: (ImageProvider, "generate_image"),
    Capability.MODEL_ADMIN: (ModelAdministration, "local_models"),
}


class TestKindRegistry:
    def test_adapters_serve_exactly_the_kinds_that_chat(self) -> None:
        chat_kinds = {k.name for k in PROVIDER_KINDS.values() if k.can(Capability.CHAT)}

        assert chat_kinds == ADAPTERS.keys()

    @pytest.mark.parametrize("kind", sorted(ADAPTERS))
    def test_each_adapter_has_the_ports_of_its_kind_and_no_others(self, kind: str) -> None:
        module, name = ADAPTERS[kind]
        adapter = getattr(importlib.import_module(module), name)
        capabilities = PROVIDER_KINDS[kind].capabilities

        for capability, (port, method) in OPTIONAL_PORTS.items():
            assert (capability in capabilities) == callable(getattr(adapter, method, None)), (
                f"{name} and the kind table disagree on {capability} ({port.__name__})"
            )

    @pytest.mark.parametrize("kind", sorted(ADAPTERS))
    def test_a_built_provider_is_an_instance_of_its_ports(
        self, factory: DefaultProviderFactory, kind: str
    ) -> None:
        built = factory.provider(endpoint(kind, base_url="http://10.0.0.5:8000"))
        capabilities = PROVIDER_KINDS[kind].capabilities

        for capability, (port, _) in OPTIONAL_PORTS.items():
            assert isinstance(built, port) == (capability in capabilities)

    def test_a_disagreement_stops_the_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delitem(ADAPTERS, "ollama")

        with pytest.raises(RuntimeError, match="ollama"):
            factory_module.check_registry()


class TestBaseUrlPolicy:
    """Issue 11 #17: a user's base URL is judged by the policy the clients connect with."""

    @pytest.fixture
    async def checking(self) -> AsyncIterator[DefaultProviderFactory]:
        async def resolve(host: str, port: int) -> list[str]:
            table = {"lan.test": ["10.0.0.5"], "public.test": ["93.184.216.34"]}
            if host not in table:
                raise OSError("no such host")
            return table[host]

        clients = OutboundClients(exemptions=["lan.test:11434"], resolve=resolve)
        built = DefaultProviderFactory(clients, timeout=5.0, connect_timeout=2.0)
        yield built
        await built.aclose()

    def test_the_factory_offers_the_check(self, checking: DefaultProviderFactory) -> None:
        assert isinstance(checking, BaseUrlPolicy)

    @pytest.mark.parametrize(
        ("url", "private_ok"),
        [
            ("http://lan.test:11434/v1", False),  # exempted
            ("https://public.test/v1", False),
            ("http://lan.test:8000/v1", True),  # trusted by the server
        ],
    )
    async def test_allowed(
        self, checking: DefaultProviderFactory, url: str, private_ok: bool
    ) -> None:
        await checking.check_base_url(url, private_ok=private_ok)

    @pytest.mark.parametrize(
        "url",
        [
            "http://lan.test:8000/v1",  # exempt only on its port
            "http://nowhere.test/v1",  # does not resolve: refused like the rest
            "http://169.254.169.254/",
            "ftp://public.test/",
        ],
    )
    async def test_refused(self, checking: DefaultProviderFactory, url: str) -> None:
        with pytest.raises(BlockedUrl):
            await checking.check_base_url(url, private_ok=False)
