"""The provider factory: dispatch by kind, caching per endpoint, unknown kinds refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.echo import EchoProvider
from switchboard.adapters.providers.factory import DefaultProviderFactory
from switchboard.adapters.providers.openai import OpenAIProvider
from switchboard.core.errors import Invalid
from switchboard.core.providers.ports import BaseUrlPolicy, ProviderEndpoint
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
