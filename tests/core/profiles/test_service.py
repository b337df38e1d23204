"""ProfileService: profiles are labelled provider connections (and what ProviderService
added for them: lookups by id and label, labelled updates, trial providers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from switchboard.core.container import Services
from switchboard.core.errors import Invalid
from switchboard.core.profiles.errors import ProfileNotFound, ProviderFixed
from switchboard.core.profiles.schemas import ProfileChange, ProfileCreate
from switchboard.core.profiles.service import LABEL_PREFIX, provider_name
from switchboard.core.providers.errors import CapabilityMissing, UnsafeUpstreamUrl
from switchboard.core.providers.schemas import ConnectionUpdate
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY


def new_profile(url: str, **changes: object) -> ProfileCreate:
    values: dict[str, object] = {
        "name": "Work",
        "type": "text",
        "provider": "openai",
        "api_key": OPENAI_TEST_KEY,
        "url": url,
    }
    return ProfileCreate.model_validate(values | changes)


class TestProviderNames:
    @pytest.mark.parametrize(
        ("name", "known"),
        [
            ("claude", "anthropic"),
            ("Ollama", "ollama"),
            ("comfyui", "comfyui"),
            ("gemini", "gemini"),
        ],
    )
    def test_document_names_map_to_known_providers(self, name: str, known: str) -> None:
        assert provider_name(name) == known

    def test_others_are_refused(self) -> None:
        with pytest.raises(Invalid, match="Unknown provider 'groq'"):
            provider_name("groq")


class TestProfiles:
    async def test_a_profile_is_a_labelled_connection(self, harness: Harness) -> None:
        owner = (await harness.user("owner@example.com")).id

        async def work(services: Services) -> None:
            created = await services.profiles.create(
                owner, new_profile("http://127.0.0.1:9/v1"), allow_private=True
            )
            connection = await services.providers.connection_by_id(owner, created.id)
            assert connection is not None and connection.label.startswith(LABEL_PREFIX)
            assert (
                connection.display_name == "Work" and connection.key_preview == created.key_preview
            )
            # The user's default connection list (other faces' settings) stays apart.
            assert await services.providers.list_connections(owner) == []
            labelled = await services.providers.connections_labelled(owner, LABEL_PREFIX)
            assert [c.id for c in labelled] == [created.id]

        await harness.run(work)

    async def test_the_url_policy_applies_unless_the_server_allows_private(
        self, harness: Harness
    ) -> None:
        owner = (await harness.user("owner@example.com")).id

        async def work(services: Services) -> None:
            with pytest.raises(UnsafeUpstreamUrl):
                await services.profiles.create(owner, new_profile("http://127.0.0.1:9/v1"))

        await harness.run(work)

    async def test_updates_keep_what_is_not_sent(self, harness: Harness) -> None:
        owner = (await harness.user("owner@example.com")).id

        async def work(services: Services) -> None:
            created = await services.profiles.create(
                owner,
                new_profile("http://127.0.0.1:9/v1", prompt_template="Be brief", options={"a": 1}),
                allow_private=True,
            )
            change = ProfileChange.model_validate({"options": {"b": 2}, "type": None})
            updated = await services.profiles.update(owner, created.id, change)
            assert updated.options == {"b": 2} and updated.type == "text"
            assert updated.prompt_template == "Be brief" and updated.has_key
            with pytest.raises(ProviderFixed):
                await services.profiles.update(owner, created.id, ProfileChange(provider="claude"))

        await harness.run(work)

    async def test_another_owner_sees_nothing(self, harness: Harness) -> None:
        owner = (await harness.user("owner@example.com")).id
        other = (await harness.user("other@example.com")).id

        async def work(services: Services) -> None:
            created = await services.profiles.create(
                owner, new_profile("http://127.0.0.1:9/v1"), allow_private=True
            )
            assert await services.providers.connection_by_id(other, created.id) is None
            with pytest.raises(ProfileNotFound):
                await services.profiles.get(other, created.id)
            with pytest.raises(ProfileNotFound):
                await services.profiles.add_model(other, created.id, "m", None)
            assert await services.profiles.list_profiles(other) == []

        await harness.run(work)


class TestProviderServiceAdditions:
    async def test_update_connection_by_label(self, harness: Harness) -> None:
        owner = (await harness.user("owner@example.com")).id

        async def work(services: Services) -> None:
            await services.providers.save_connection(
                owner, "openai", api_key="sk-labelled-key-0001", label="extra", display_name="A"
            )
            updated = await services.providers.update_connection(
                owner, "openai", ConnectionUpdate(display_name="B"), label="extra"
            )
            assert updated.display_name == "B" and updated.label == "extra"

        await harness.run(work)

    async def test_trial_provider_stores_nothing(
        self, harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
    ) -> None:
        live = await harness_factory(allow_private_upstreams=True)
        owner = (await live.user("owner@example.com")).id

        async def work(services: Services) -> None:
            trial = await services.providers.trial_provider(
                owner, "openai", api_key=OPENAI_TEST_KEY, base_url=openai_upstream.url + "/v1"
            )
            await trial.test_connection()
            assert await services.providers.connections_labelled(owner, "") == []
            with pytest.raises(CapabilityMissing):
                await services.providers.trial_provider(owner, "comfyui", api_key=None)

        await live.run(work)
