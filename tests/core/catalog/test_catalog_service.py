"""CatalogService: models across the caller's providers, failures reported, cached."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from switchboard.core.catalog import service as catalog_service
from switchboard.core.catalog.service import Catalog, CatalogCache
from switchboard.core.container import Services
from switchboard.core.llm import ModelInfo
from switchboard.core.providers.schemas import ConnectionUpdate
from switchboard.models import ProviderConnection
from tests.fixtures.app import Harness
from tests.fixtures.clock import ManualClock
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY


async def _connect(harness: Harness, owner: str, upstream: FakeUpstream) -> str:
    read = await harness.run(
        lambda s: s.providers.save_connection(
            owner,
            "openai_compatible",
            api_key=OPENAI_TEST_KEY,
            base_url=upstream.url + "/v1",
            allow_private=True,
        )
    )
    connection_id: str = read.id
    return connection_id


async def _catalog(harness: Harness, owner: str, only: str | None = None) -> Catalog:
    catalog: Catalog = await harness.run(lambda s: s.catalog.models(owner, only))
    return catalog


def _model_calls(upstream: FakeUpstream) -> int:
    return sum(1 for r in upstream.requests if r.path == "/v1/models")


def _ids(catalog: Catalog) -> set[tuple[str, str]]:
    return {(m.provider, m.id) for m in catalog.models}


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("catalog@example.com")).id


class TestModels:
    async def test_echo_alone_without_configuration(self, harness: Harness, owner: str) -> None:
        catalog = await _catalog(harness, owner)

        assert _ids(catalog) == {("echo", "echo")}
        assert catalog.configured == ["echo"]
        assert catalog.errors == {}

    async def test_echo_and_a_fake_upstream(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)

        catalog = await _catalog(harness, owner)

        assert _ids(catalog) == {
            ("echo", "echo"),
            ("openai_compatible", "fake-model"),
            ("openai_compatible", "fake-model-2"),
        }
        assert catalog.configured == ["echo", "openai_compatible"]
        assert catalog.errors == {}
        assert openai_upstream.requests[-1].headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"

    async def test_failing_provider_is_reported_not_raised(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        openai_upstream.fail(status=500, path_contains="/models")

        catalog = await _catalog(harness, owner)

        assert _ids(catalog) == {("echo", "echo")}
        assert set(catalog.errors) == {"openai_compatible"}
        assert catalog.errors["openai_compatible"]
        assert "openai_compatible" in catalog.configured

    async def test_rejected_key_is_reported_without_the_key(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        openai_upstream.api_key = "sk-some-other-key-0000000000"

        catalog = await _catalog(harness, owner)

        assert "openai_compatible" in catalog.errors
        assert OPENAI_TEST_KEY not in catalog.errors["openai_compatible"]

    async def test_unreadable_stored_key_is_reported(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        connection_id = await _connect(harness, owner, openai_upstream)
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == connection_id)
                .values(encrypted_key="garbage")
            )

        catalog = await _catalog(harness, owner)

        assert "openai_compatible" in catalog.errors
        assert ("echo", "echo") in _ids(catalog)
        assert _model_calls(openai_upstream) == 0

    async def test_slow_provider_times_out(
        self,
        harness: Harness,
        owner: str,
        openai_upstream: FakeUpstream,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(catalog_service, "PER_PROVIDER_TIMEOUT", 0.3)
        await _connect(harness, owner, openai_upstream)
        # ends in an error after the delay, so the abandoned request cannot affect later tests
        openai_upstream.fail(delay=1.0, status=500, path_contains="/models")

        catalog = await _catalog(harness, owner)

        assert catalog.errors == {"openai_compatible": "timed out"}
        assert ("echo", "echo") in _ids(catalog)

    async def test_cache_hit_does_not_call_upstream_again(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        first = await _catalog(harness, owner)

        second = await _catalog(harness, owner)

        assert _model_calls(openai_upstream) == 1
        assert _ids(second) == _ids(first)

    async def test_failures_are_not_cached(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        openai_upstream.fail(status=500, path_contains="/models")
        await _catalog(harness, owner)

        catalog = await _catalog(harness, owner)

        assert catalog.errors == {}
        assert ("openai_compatible", "fake-model") in _ids(catalog)
        assert _model_calls(openai_upstream) == 2

    async def test_cache_is_per_user(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        other = (await harness.user("other@example.com")).id
        await _connect(harness, owner, openai_upstream)
        await _catalog(harness, owner)

        catalog = await _catalog(harness, other)

        assert _ids(catalog) == {("echo", "echo")}
        assert _model_calls(openai_upstream) == 1

    async def test_only_one_provider(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)

        catalog = await _catalog(harness, owner, only="openai_compatible")

        assert {p for p, _ in _ids(catalog)} == {"openai_compatible"}

    async def test_forgetting_the_user_fetches_again(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        await _catalog(harness, owner)
        openai_upstream.models = ["fresh-model"]

        harness.ctx.catalogs.forget_user(owner)
        catalog = await _catalog(harness, owner)

        assert ("openai_compatible", "fresh-model") in _ids(catalog)
        assert _model_calls(openai_upstream) == 2


Change = Callable[[Services, str, str, FakeUpstream], Awaitable[Any]]
CHANGES: dict[str, Change] = {
    "saved again": lambda s, owner, _, upstream: s.providers.save_connection(
        owner,
        "openai_compatible",
        api_key=OPENAI_TEST_KEY,
        base_url=upstream.url + "/v1",
        allow_private=True,
    ),
    "updated": lambda s, owner, _, __: s.providers.update_connection(
        owner, "openai_compatible", ConnectionUpdate(display_name="renamed")
    ),
    "deactivated": lambda s, owner, _, __: s.providers.deactivate_connection(
        owner, "openai_compatible"
    ),
    "deleted": lambda s, owner, connection_id, _: s.providers.delete_connection(
        owner, connection_id
    ),
}


class TestInvalidation:
    """A change to a user's connections drops their catalogs, and nobody else's."""

    @pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
    async def test_a_connection_change_drops_the_users_catalogs_after_commit(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream, change: Change
    ) -> None:
        other = (await harness.user("other@example.com")).id
        connection_id = await _connect(harness, owner, openai_upstream)
        await _catalog(harness, owner)
        await _catalog(harness, other)
        stale = [ModelInfo(id="stale", provider="openai_compatible")]

        async with harness.ctx.unit_of_work() as uow:
            await change(harness.ctx.services(uow), owner, connection_id, openai_upstream)
            # Another request fills the cache before the change commits.
            harness.ctx.catalogs.put(owner, "openai_compatible", stale)

        assert harness.ctx.catalogs.get(owner, "openai_compatible") is None
        assert harness.ctx.catalogs.get(owner, "echo") is None
        assert harness.ctx.catalogs.get(other, "echo") is not None

    async def test_a_new_key_fetches_the_catalog_again(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        await _connect(harness, owner, openai_upstream)
        await _catalog(harness, owner)
        openai_upstream.models = ["fresh-model"]

        await _connect(harness, owner, openai_upstream)
        catalog = await _catalog(harness, owner)

        assert ("openai_compatible", "fresh-model") in _ids(catalog)
        assert _model_calls(openai_upstream) == 2


class TestCatalogCache:
    def test_fresh_entry(self) -> None:
        cache = CatalogCache(ttl=60)
        models = [ModelInfo(id="m", provider="p")]

        cache.put("u", "p", models)

        assert cache.get("u", "p") == models
        assert cache.get("u", "q") is None
        assert cache.get("v", "p") is None

    def test_expired_entry(self) -> None:
        clock = ManualClock()
        cache = CatalogCache(ttl=60, monotonic=clock.monotonic)
        cache.put("u", "p", [ModelInfo(id="m", provider="p")])

        clock.advance(60)
        assert cache.get("u", "p") is not None
        clock.advance(0.1)

        assert cache.get("u", "p") is None

    def test_forget_user_keeps_others(self) -> None:
        cache = CatalogCache()
        cache.put("u", "p", [])
        cache.put("v", "p", [])

        cache.forget_user("u")

        assert cache.get("u", "p") is None
        assert cache.get("v", "p") == []
