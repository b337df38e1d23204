"""The endpoint cache: bounded, short-lived, invalidated when a user's connections change."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from switchboard.core.providers.cache import EndpointCache
from switchboard.core.providers.errors import ProviderNotConfigured
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.providers.schemas import ConnectionUpdate
from switchboard.core.providers.service import ProviderService
from tests.fixtures.app import Harness
from tests.fixtures.clock import ManualClock

KEY = "sk-proj-ABCDEFGHIJ0123456789klmnopqrstuv7890"
OTHER_KEY = "sk-proj-ZYXWVUTSRQ9876543210abcdefghijkl4321"
OPERATOR = ProviderEndpoint(
    kind="openai",
    provider="openai",
    base_url="https://operator.example/v1",
    api_key="sk-operator-key-0000000000000000",
    trusted=True,
)
ENDPOINT = ProviderEndpoint(kind="openai", provider="openai", api_key="k")


class TestEndpointCache:
    def test_remembers_until_the_ttl(self) -> None:
        clock = ManualClock()
        cache = EndpointCache(ttl_seconds=5, monotonic=clock.monotonic)
        cache.put(("u", "openai", None), ENDPOINT, cache.generation())
        clock.advance(4.9)
        assert cache.get(("u", "openai", None)) is ENDPOINT
        clock.advance(0.2)
        assert cache.get(("u", "openai", None)) is None
        assert len(cache) == 0

    def test_is_bounded(self) -> None:
        cache = EndpointCache(max_entries=3)
        for n in range(5):
            cache.put((f"u{n}", "openai", None), ENDPOINT, cache.generation())
        assert len(cache) == 3
        assert cache.get(("u0", "openai", None)) is None
        assert cache.get(("u4", "openai", None)) is ENDPOINT

    def test_invalidation_drops_only_that_user(self) -> None:
        cache = EndpointCache()
        cache.put(("u", "openai", None), ENDPOINT, cache.generation())
        cache.put(("u", "groq", "c1"), ENDPOINT, cache.generation())
        cache.put(("v", "openai", None), ENDPOINT, cache.generation())
        cache.invalidate_user("u")
        assert cache.get(("u", "openai", None)) is None
        assert cache.get(("u", "groq", "c1")) is None
        assert cache.get(("v", "openai", None)) is ENDPOINT

    def test_a_resolution_older_than_an_invalidation_is_not_stored(self) -> None:
        cache = EndpointCache()
        generation = cache.generation()  # a resolution starts, reads the old row...
        cache.invalidate_user("u")  # ...the connection changes meanwhile
        cache.put(("u", "openai", None), ENDPOINT, generation)
        assert cache.get(("u", "openai", None)) is None

    def test_zero_ttl_disables_it(self) -> None:
        cache = EndpointCache(ttl_seconds=0)
        cache.put(("u", "openai", None), ENDPOINT, cache.generation())
        assert cache.get(("u", "openai", None)) is None

    def test_clear(self) -> None:
        cache = EndpointCache()
        cache.put(("u", "openai", None), ENDPOINT, cache.generation())
        generation = cache.generation()
        cache.clear()
        cache.put(("v", "openai", None), ENDPOINT, generation)
        assert len(cache) == 0


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("owner@example.com")).id


@pytest.fixture
def operator(harness: Harness) -> Iterator[None]:
    providers = harness.ctx.providers
    harness.ctx.providers = dataclasses.replace(providers, operator={"openai": OPERATOR})
    yield
    harness.ctx.providers = providers


@contextmanager
def counted_queries(harness: Harness) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    engine = harness.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _endpoint(harness: Harness, owner: str, **kwargs: object) -> ProviderEndpoint:
    endpoint: ProviderEndpoint = await harness.run(
        lambda s: s.providers.endpoint_for(owner, "openai", **kwargs)  # type: ignore[arg-type]
    )
    return endpoint


async def _save(harness: Harness, owner: str, key: str = KEY) -> None:
    await harness.run(lambda s: s.providers.save_connection(owner, "openai", api_key=key))


@pytest.mark.usefixtures("operator")
class TestServiceUsesTheCache:
    async def test_second_resolution_does_no_database_io(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)
        first = await _endpoint(harness, owner)
        with counted_queries(harness) as statements:
            again = await _endpoint(harness, owner)
        assert again == first and again.api_key == KEY
        assert statements == []

    async def test_operator_fallback_is_cached_too(self, harness: Harness, owner: str) -> None:
        assert await _endpoint(harness, owner) == OPERATOR
        with counted_queries(harness) as statements:
            assert await _endpoint(harness, owner) == OPERATOR
        assert statements == []

    async def test_saving_a_connection_is_seen_at_once(self, harness: Harness, owner: str) -> None:
        assert await _endpoint(harness, owner) == OPERATOR
        await _save(harness, owner)
        assert (await _endpoint(harness, owner)).api_key == KEY
        await _save(harness, owner, OTHER_KEY)
        assert (await _endpoint(harness, owner)).api_key == OTHER_KEY

    async def test_update_deactivate_and_delete_are_seen_at_once(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)
        assert (await _endpoint(harness, owner)).api_key == KEY
        await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(api_key=OTHER_KEY)
            )
        )
        assert (await _endpoint(harness, owner)).api_key == OTHER_KEY
        await harness.run(lambda s: s.providers.deactivate_connection(owner, "openai"))
        assert await _endpoint(harness, owner) == OPERATOR

        await _save(harness, owner)
        connection = await harness.run(lambda s: s.providers.get_connection(owner, "openai"))
        assert (await _endpoint(harness, owner, connection_id=connection.id)).api_key == KEY
        await harness.run(lambda s: s.providers.delete_connection(owner, connection.id))
        assert await _endpoint(harness, owner, connection_id=connection.id) == OPERATOR

    async def test_rotation_clears_the_cache(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)
        await _endpoint(harness, owner)
        assert len(harness.ctx.providers.endpoints) == 1
        await harness.run(lambda s: s.providers.rotate_secrets())
        assert len(harness.ctx.providers.endpoints) == 0

    async def test_a_read_during_an_uncommitted_change_is_dropped_at_commit(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)
        async with harness.ctx.unit_of_work() as uow:
            await harness.ctx.services(uow).providers.save_connection(
                owner, "openai", api_key=OTHER_KEY
            )
            # Another request resolves before the change commits and caches the old key.
            assert (await _endpoint(harness, owner)).api_key == KEY
        assert (await _endpoint(harness, owner)).api_key == OTHER_KEY

    async def test_without_a_unit_of_work_hook_changes_still_invalidate(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)
        await _endpoint(harness, owner)
        async with harness.ctx.unit_of_work() as uow:
            service = ProviderService(uow.session, harness.ctx.providers)
            await service.deactivate_connection(owner, "openai")
        assert await _endpoint(harness, owner) == OPERATOR

    async def test_errors_are_not_cached(self, harness: Harness, owner: str) -> None:
        harness.ctx.providers = dataclasses.replace(harness.ctx.providers, operator={})
        with pytest.raises(ProviderNotConfigured):
            await _endpoint(harness, owner)
        assert len(harness.ctx.providers.endpoints) == 0
        await _save(harness, owner)
        assert (await _endpoint(harness, owner)).api_key == KEY


@pytest.mark.usefixtures("operator")
class TestConcurrentMisses:
    async def test_share_one_resolution(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)
        harness.ctx.providers.endpoints.clear()
        with counted_queries(harness) as statements:
            endpoints = await asyncio.gather(*(_endpoint(harness, owner) for _ in range(20)))
        assert {e.api_key for e in endpoints} == {KEY}
        selects = [s for s in statements if "provider_connections" in s]
        assert len(selects) == 1

    async def test_a_failed_first_resolution_is_not_shared(
        self, harness: Harness, owner: str
    ) -> None:
        harness.ctx.providers = dataclasses.replace(harness.ctx.providers, operator={})
        results = await asyncio.gather(
            *(_endpoint(harness, owner) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, ProviderNotConfigured) for r in results)
        assert harness.ctx.providers.endpoints.inflight == {}

    async def test_a_cancelled_first_resolution_lets_the_others_resolve(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)
        harness.ctx.providers.endpoints.clear()
        first = asyncio.create_task(_endpoint(harness, owner))
        # One turn of the loop each, no time: the first starts resolving, then the others
        # start and find its resolution in flight.
        await asyncio.sleep(0)
        others = [asyncio.create_task(_endpoint(harness, owner)) for _ in range(3)]
        await asyncio.sleep(0)
        first.cancel()
        results = await asyncio.gather(*others)
        assert {e.api_key for e in results} == {KEY}
        with pytest.raises(asyncio.CancelledError):
            await first
