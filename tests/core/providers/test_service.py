"""ProviderService: origin-bound encrypted keys, the URL policy at save, resolution order."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, text, update

from switchboard.core.container import Services
from switchboard.core.errors import ErrorKind, SwitchboardError
from switchboard.core.providers.errors import (
    KeyBoundElsewhere,
    ProviderNotConfigured,
    UnknownProvider,
    UnsafeUpstreamUrl,
)
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint, ProviderFactory
from switchboard.core.providers.schemas import ConnectionRead, ConnectionUpdate
from switchboard.core.providers.service import URL_REFUSED, ProviderService, ProviderSetup
from switchboard.kit.crypto import SecretBox, SecretDecryptError
from switchboard.models import ProviderConnection
from tests.fixtures.app import TEST_SECRET, Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

KEY = "sk-proj-ABCDEFGHIJ0123456789klmnopqrstuv7890"
OTHER_KEY = "sk-proj-ZYXWVUTSRQ9876543210abcdefghijkl4321"
LOCAL = "http://127.0.0.1:18080/v1"
LOCAL_2 = "http://127.0.0.1:18081/v1"
OPERATOR_OPENAI = ProviderEndpoint(
    kind="openai",
    provider="openai",
    base_url="https://operator.example/v1",
    api_key="sk-operator-key-0000000000000000",
    trusted=True,
)


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("owner@example.com")).id


@pytest.fixture
async def other(harness: Harness) -> str:
    return (await harness.user("other@example.com")).id


def _setup(harness: Harness, **changes: Any) -> ProviderSetup:
    return dataclasses.replace(harness.ctx.providers, **changes)


async def _with(
    harness: Harness, setup: ProviderSetup, work: Callable[[ProviderService], Awaitable[Any]]
) -> Any:
    async with harness.ctx.unit_of_work() as uow:
        return await work(ProviderService(uow.session, setup))


async def _save(harness: Harness, owner: str, provider: str = "openai", **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", KEY)
    return await harness.run(lambda s: s.providers.save_connection(owner, provider, **kwargs))


async def _row(harness: Harness, connection_id: str) -> ProviderConnection:
    async with harness.ctx.unit_of_work() as uow:
        row = await uow.session.get(ProviderConnection, connection_id)
        assert row is not None
        uow.session.expunge(row)
        return row


async def _endpoint(harness: Harness, owner: str, provider: str, **kwargs: Any) -> Any:
    return await harness.run(lambda s: s.providers.endpoint_for(owner, provider, **kwargs))


class TestSaveConnection:
    async def test_key_is_masked_in_what_is_returned(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)

        assert read.has_key is True
        assert read.key_preview == "sk-...7890"
        assert KEY not in read.model_dump_json()
        assert KEY not in repr(read) and KEY not in str(read.model_dump())

    async def test_row_holds_the_key_only_encrypted(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)

        async with harness.ctx.unit_of_work() as uow:
            result = await uow.session.execute(
                text("SELECT * FROM provider_connections WHERE id = :id"), {"id": read.id}
            )
            raw = dict(result.mappings().one())
        assert all(KEY not in str(value) for value in raw.values())
        assert KEY[-20:] not in str(raw)
        sealed_to = f"provider_connection:{read.id}:{owner}".encode()
        payload = json.loads(SecretBox([TEST_SECRET]).decrypt(raw["encrypted_key"], sealed_to))
        assert payload == {"origin": "https://api.openai.com:443", "key": KEY}
        assert raw["key_origin"] == "https://api.openai.com:443"

    async def test_key_is_bound_to_its_base_url(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner, base_url=LOCAL + "/", allow_private=True)

        row = await _row(harness, read.id)

        assert read.base_url == LOCAL
        assert row.key_origin == "http://127.0.0.1:18080"
        endpoint = await _endpoint(harness, owner, "openai")
        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, KEY)

    async def test_saving_again_replaces_the_connection(self, harness: Harness, owner: str) -> None:
        first = await _save(harness, owner)

        second = await _save(harness, owner, api_key=OTHER_KEY)

        assert second.id == first.id
        assert second.key_preview == "sk-...4321"
        endpoint = await _endpoint(harness, owner, "openai")
        assert endpoint.api_key == OTHER_KEY
        assert len(await harness.run(lambda s: s.providers.list_connections(owner))) == 1

    async def test_without_key_stores_none(self, harness: Harness, owner: str) -> None:
        read = await _save(
            harness, owner, "openai_compatible", api_key=None, base_url=LOCAL, allow_private=True
        )

        assert read.has_key is False and read.key_preview is None
        endpoint = await _endpoint(harness, owner, "openai_compatible")
        assert endpoint.api_key is None and endpoint.base_url == LOCAL

    async def test_provider_name_is_case_insensitive(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner, " OpenAI ")

        assert read.provider == "openai"

    async def test_unknown_provider(self, harness: Harness, owner: str) -> None:
        with pytest.raises(UnknownProvider) as caught:
            await _save(harness, owner, "no-such-vendor")

        assert caught.value.kind == ErrorKind.INVALID

    async def test_compatible_provider_needs_a_base_url(self, harness: Harness, owner: str) -> None:
        with pytest.raises(UnsafeUpstreamUrl):
            await _save(harness, owner, "openai_compatible")

    async def test_live_test_failure_stores_nothing(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        url = openai_upstream.url + "/v1"

        async def work(services: Services) -> ConnectionRead | None:
            with pytest.raises(SwitchboardError) as caught:
                await services.providers.save_connection(
                    owner,
                    "openai",
                    api_key="sk-wrong-000000000000000",
                    base_url=url,
                    allow_private=True,
                    test=True,
                )
            assert caught.value.kind == ErrorKind.UPSTREAM_REJECTED
            return await services.providers.get_connection(owner, "openai")

        assert await harness.run(work) is None

    async def test_live_test_failure_keeps_the_previous_key(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        url = openai_upstream.url + "/v1"
        await _save(harness, owner, api_key=OPENAI_TEST_KEY, base_url=url, allow_private=True)

        async def work(services: Services) -> ProviderEndpoint:
            with pytest.raises(SwitchboardError):
                await services.providers.save_connection(
                    owner,
                    "openai",
                    api_key="sk-wrong-000000000000000",
                    base_url=url,
                    allow_private=True,
                    test=True,
                )
            return await services.providers.endpoint_for(owner, "openai")

        endpoint = await harness.run(work)
        assert endpoint.api_key == OPENAI_TEST_KEY

    async def test_live_test_success_stores(
        self, harness: Harness, owner: str, openai_upstream: FakeUpstream
    ) -> None:
        read = await _save(
            harness,
            owner,
            api_key=OPENAI_TEST_KEY,
            base_url=openai_upstream.url + "/v1",
            allow_private=True,
            test=True,
        )

        assert read.has_key
        assert any(r.path == "/v1/models" for r in openai_upstream.requests)


class TestUrlPolicyAtSave:
    @pytest.mark.parametrize(
        "url",
        [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.169.254",
            "http://[::ffff:127.0.0.1]/v1",
            "http://[::ffff:169.254.169.254]/",
            "http://localhost:8000/v1",
            "http://127.0.0.1:8000/v1",
            "http://10.0.0.5/v1",
            "http://[::1]:8000/v1",
            "http://0.0.0.0:8000/v1",
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "http://user:pass@127.0.0.1/",
            "http://exa mple.com/",
            "http:\\\\127.0.0.1\\v1",
            "not a url",
        ],
    )
    async def test_refused_without_allow_private(
        self, harness: Harness, owner: str, url: str
    ) -> None:
        with pytest.raises(UnsafeUpstreamUrl) as caught:
            await _save(harness, owner, "openai_compatible", base_url=url)

        assert caught.value.kind == ErrorKind.INVALID
        assert await harness.run(lambda s: s.providers.list_connections(owner)) == []

    @pytest.mark.parametrize(
        "url",
        [
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:169.254.169.254]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "file:///etc/passwd",
        ],
    )
    async def test_metadata_and_non_http_refused_even_with_allow_private(
        self, harness: Harness, owner: str, url: str
    ) -> None:
        with pytest.raises(UnsafeUpstreamUrl):
            await _save(harness, owner, "openai_compatible", base_url=url, allow_private=True)

    @pytest.mark.parametrize(
        "url", ["http://localhost:8000/v1", "http://127.0.0.1:8000/v1", "http://[::1]:8000/v1"]
    )
    async def test_loopback_allowed_with_allow_private(
        self, harness: Harness, owner: str, url: str
    ) -> None:
        read = await _save(harness, owner, "openai_compatible", base_url=url, allow_private=True)

        assert read.base_url == url

    async def test_operator_setting_allows_private(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        harness = await harness_factory(allow_private_upstreams=True)
        owner = (await harness.user("p@example.com")).id

        read = await _save(harness, owner, "openai_compatible", base_url="http://localhost:9/v1")

        assert read.base_url == "http://localhost:9/v1"

    async def test_update_checks_the_new_url(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        with pytest.raises(UnsafeUpstreamUrl):
            await harness.run(
                lambda s: s.providers.update_connection(
                    owner,
                    "openai",
                    ConnectionUpdate(base_url="http://169.254.169.254/", base_url_set=True),
                    allow_private=True,
                )
            )

        endpoint = await _endpoint(harness, owner, "openai")
        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, KEY)


class TestUpdateConnection:
    async def test_new_base_url_without_key_drops_the_key(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner, base_url=LOCAL, allow_private=True)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner,
                "openai",
                ConnectionUpdate(base_url=LOCAL_2, base_url_set=True),
                allow_private=True,
            )
        )

        assert updated.base_url == LOCAL_2
        assert updated.has_key is False and updated.key_preview is None
        row = await _row(harness, read.id)
        assert row.encrypted_key is None and row.key_origin is None
        endpoint = await _endpoint(harness, owner, "openai")
        assert endpoint.base_url == LOCAL_2 and endpoint.api_key is None

    async def test_clearing_the_base_url_drops_the_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(base_url=None, base_url_set=True)
            )
        )

        assert updated.base_url is None and updated.has_key is False

    async def test_new_base_url_with_new_key_binds_it_there(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner, base_url=LOCAL, allow_private=True)

        await harness.run(
            lambda s: s.providers.update_connection(
                owner,
                "openai",
                ConnectionUpdate(api_key=OTHER_KEY, base_url=LOCAL_2, base_url_set=True),
                allow_private=True,
            )
        )

        row = await _row(harness, read.id)
        assert row.key_origin == "http://127.0.0.1:18081"
        endpoint = await _endpoint(harness, owner, "openai")
        assert (endpoint.base_url, endpoint.api_key) == (LOCAL_2, OTHER_KEY)

    async def test_same_base_url_keeps_the_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(base_url=LOCAL, base_url_set=True)
            )
        )

        assert updated.has_key is True
        assert (await _endpoint(harness, owner, "openai")).api_key == KEY

    async def test_base_url_not_set_keeps_url_and_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(display_name="Work")
            )
        )

        assert updated.base_url == LOCAL and updated.has_key
        assert updated.display_name == "Work"

    async def test_new_key_only(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(api_key=OTHER_KEY)
            )
        )

        assert updated.key_preview == "sk-...4321"
        assert (await _endpoint(harness, owner, "openai")).api_key == OTHER_KEY

    async def test_clear_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(clear_key=True)
            )
        )

        assert updated.has_key is False and updated.key_preview is None

    async def test_settings_are_merged_and_private_flag_hidden(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        updated = await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(settings={"organization": "org-1"})
            )
        )

        assert updated.settings == {"organization": "org-1"}

    async def test_not_saved_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ProviderNotConfigured) as caught:
            await harness.run(
                lambda s: s.providers.update_connection(
                    owner, "openai", ConnectionUpdate(display_name="x")
                )
            )

        assert caught.value.kind == ErrorKind.NOT_FOUND


class TestKeyOrigin:
    async def test_tampered_ciphertext_is_refused(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)
        row = await _row(harness, read.id)
        assert row.encrypted_key is not None
        middle = len(row.encrypted_key) // 2
        flipped = "A" if row.encrypted_key[middle] != "A" else "B"
        tampered = row.encrypted_key[:middle] + flipped + row.encrypted_key[middle + 1 :]
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == read.id)
                .values(encrypted_key=tampered)
            )

        with pytest.raises(KeyBoundElsewhere) as caught:
            await _endpoint(harness, owner, "openai")

        assert KEY not in caught.value.message

    async def test_ciphertext_from_another_origin_is_refused(
        self, harness: Harness, owner: str
    ) -> None:
        local = await _save(harness, owner, "openai_compatible", base_url=LOCAL, allow_private=True)
        public = await _save(harness, owner, "openai")
        stolen = (await _row(harness, local.id)).encrypted_key
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == public.id)
                .values(encrypted_key=stolen)
            )

        with pytest.raises(KeyBoundElsewhere):
            await _endpoint(harness, owner, "openai")

    async def test_base_url_changed_behind_the_services_back_is_refused(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner, base_url=LOCAL, allow_private=True)
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == read.id)
                .values(base_url="https://attacker.example/v1")
            )

        with pytest.raises(KeyBoundElsewhere):
            await _endpoint(harness, owner, "openai")

    async def test_operator_changing_the_base_url_is_refused(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)  # no base URL: bound to OpenAI's public origin
        moved = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        with pytest.raises(KeyBoundElsewhere):
            await _with(harness, moved, lambda p: p.endpoint_for(owner, "openai"))

    async def test_key_saved_under_the_operator_url_follows_it(
        self, harness: Harness, owner: str
    ) -> None:
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})
        await _with(harness, setup, lambda p: p.save_connection(owner, "openai", api_key=KEY))

        endpoint = await _with(harness, setup, lambda p: p.endpoint_for(owner, "openai"))

        assert endpoint.base_url == "https://operator.example/v1"
        assert endpoint.api_key == KEY
        assert endpoint.trusted is False
        # ...and the same row is refused once the operator moves away again
        with pytest.raises(KeyBoundElsewhere):
            await _endpoint(harness, owner, "openai")

    async def test_other_secret_key_cannot_read_it(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)
        stranger = _setup(harness, secrets=SecretBox(["another-secret-0123456789-abcdefghijkl"]))

        with pytest.raises(KeyBoundElsewhere):
            await _with(harness, stranger, lambda p: p.endpoint_for(owner, "openai"))


class TestEndpointFor:
    async def test_explicit_connection_comes_first(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)
        work = await _save(
            harness, owner, api_key=OTHER_KEY, base_url=LOCAL_2, allow_private=True, label="work"
        )
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        endpoint = await _with(
            harness, setup, lambda p: p.endpoint_for(owner, "openai", connection_id=work.id)
        )

        assert (endpoint.base_url, endpoint.api_key) == (LOCAL_2, OTHER_KEY)
        assert endpoint.trusted is True  # saved with allow_private

    async def test_users_connection_before_the_operator(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        endpoint = await _with(harness, setup, lambda p: p.endpoint_for(owner, "openai"))

        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, KEY)

    async def test_operator_when_the_user_has_none(self, harness: Harness, owner: str) -> None:
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        endpoint = await _with(harness, setup, lambda p: p.endpoint_for(owner, "openai"))

        assert endpoint is OPERATOR_OPENAI

    async def test_echo_when_nothing_else(self, harness: Harness, owner: str) -> None:
        endpoint = await _endpoint(harness, owner, "echo")

        assert (endpoint.kind, endpoint.provider, endpoint.api_key) == ("echo", "echo", None)

    async def test_not_configured(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ProviderNotConfigured) as caught:
            await _endpoint(harness, owner, "anthropic")

        assert caught.value.kind == ErrorKind.NOT_FOUND
        assert caught.value.param == "model"

    async def test_unknown_provider(self, harness: Harness, owner: str) -> None:
        with pytest.raises(UnknownProvider):
            await _endpoint(harness, owner, "skynet")

    async def test_inactive_connection_falls_back_to_the_operator(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)
        await harness.run(
            lambda s: s.providers.update_connection(
                owner, "openai", ConnectionUpdate(is_active=False)
            )
        )
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        endpoint = await _with(harness, setup, lambda p: p.endpoint_for(owner, "openai"))

        assert endpoint is OPERATOR_OPENAI

    async def test_inactive_explicit_connection_falls_back_to_the_default(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)
        work = await _save(
            harness, owner, api_key=OTHER_KEY, base_url=LOCAL_2, allow_private=True, label="work"
        )
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == work.id)
                .values(is_active=False)
            )

        endpoint = await _endpoint(harness, owner, "openai", connection_id=work.id)

        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, KEY)

    async def test_explicit_connection_of_another_provider_falls_back_to_the_default(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)
        groq = await _save(harness, owner, "groq", api_key=OTHER_KEY, label="work")

        endpoint = await _endpoint(harness, owner, "openai", connection_id=groq.id)

        assert endpoint.provider == "openai"
        assert (endpoint.base_url, endpoint.api_key) == (LOCAL, KEY)

    async def test_unknown_connection_id_falls_back_to_the_default(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, base_url=LOCAL, allow_private=True)

        endpoint = await _endpoint(harness, owner, "openai", connection_id="not-an-id")

        assert endpoint.api_key == KEY

    async def test_user_endpoint_is_untrusted_unless_private_was_allowed(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner)

        endpoint = await _endpoint(harness, owner, "openai")

        assert endpoint.trusted is False
        assert endpoint.base_url == "https://api.openai.com/v1"

    async def test_endpoint_repr_never_shows_the_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)

        endpoint = await _endpoint(harness, owner, "openai")

        assert KEY not in repr(endpoint)


class TestConfiguredProviders:
    async def test_operator_and_own_connections(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, "groq")
        await _save(harness, owner, "openai_compatible", base_url=LOCAL, allow_private=True)
        setup = _setup(harness, operator={"openai": OPERATOR_OPENAI})

        names = await _with(harness, setup, lambda p: p.configured_providers(owner))

        assert names == ["groq", "openai", "openai_compatible"]

    async def test_inactive_and_keyless_connections_do_not_count(
        self, harness: Harness, owner: str
    ) -> None:
        await _save(harness, owner, "groq")
        await _save(harness, owner, "mistral", api_key=None)
        await harness.run(lambda s: s.providers.deactivate_connection(owner, "groq"))

        assert await harness.run(lambda s: s.providers.configured_providers(owner)) == []

    async def test_other_users_connections_do_not_count(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        await _save(harness, owner, "groq")

        assert await harness.run(lambda s: s.providers.configured_providers(other)) == []


class TestListAndGetConnections:
    async def test_only_own_connections(self, harness: Harness, owner: str, other: str) -> None:
        await _save(harness, owner, "groq")
        theirs = await _save(harness, other, "openai")

        listed = await harness.run(lambda s: s.providers.list_connections(other))

        assert [c.id for c in listed] == [theirs.id]
        assert await harness.run(lambda s: s.providers.get_connection(other, "groq")) is None

    async def test_listing_never_carries_a_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, "groq")
        await _save(harness, owner, "openai", api_key=OTHER_KEY)

        listed = await harness.run(lambda s: s.providers.list_connections(owner))

        dumped = json.dumps([c.model_dump(mode="json") for c in listed])
        assert KEY not in dumped and OTHER_KEY not in dumped
        assert "encrypted" not in dumped


class TestRotateSecrets:
    async def test_re_encrypts_under_the_new_key(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)
        await _save(harness, owner, "groq", api_key=OTHER_KEY)
        new = "new-secret-0123456789-abcdefghijklmnopq"
        rotating = _setup(harness, secrets=SecretBox([new, TEST_SECRET]))

        count = await _with(harness, rotating, lambda p: p.rotate_secrets())

        assert count == 2
        row = await _row(harness, read.id)
        assert row.encrypted_key is not None
        sealed_to = f"provider_connection:{read.id}:{owner}".encode()
        assert json.loads(SecretBox([new]).decrypt(row.encrypted_key, sealed_to))["key"] == KEY
        with pytest.raises(SecretDecryptError):
            SecretBox([TEST_SECRET]).decrypt(row.encrypted_key, sealed_to)
        only_new = _setup(harness, secrets=SecretBox([new]))
        endpoint = await _with(harness, only_new, lambda p: p.endpoint_for(owner, "openai"))
        assert endpoint.api_key == KEY

    async def test_nothing_to_rotate(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner, "mistral", api_key=None)

        assert await harness.run(lambda s: s.providers.rotate_secrets()) == 0


class TestDeactivateConnection:
    async def test_erases_key_material(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)

        await harness.run(lambda s: s.providers.deactivate_connection(owner, "openai"))

        row = await _row(harness, read.id)
        assert row.is_active is False
        assert (row.encrypted_key, row.key_preview, row.key_origin) == (None, None, None)

    async def test_resolution_no_longer_uses_it(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)

        await harness.run(lambda s: s.providers.deactivate_connection(owner, "openai"))

        with pytest.raises(ProviderNotConfigured):
            await _endpoint(harness, owner, "openai")

    async def test_not_saved_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ProviderNotConfigured):
            await harness.run(lambda s: s.providers.deactivate_connection(owner, "openai"))


class TestDeleteConnection:
    async def test_deletes_own(self, harness: Harness, owner: str) -> None:
        read = await _save(harness, owner)

        await harness.run(lambda s: s.providers.delete_connection(owner, read.id))

        assert await harness.run(lambda s: s.providers.list_connections(owner)) == []

    async def test_other_users_connection_is_not_found_and_kept(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        read = await _save(harness, owner)

        with pytest.raises(ProviderNotConfigured) as caught:
            await harness.run(lambda s: s.providers.delete_connection(other, read.id))

        assert caught.value.kind == ErrorKind.NOT_FOUND
        assert (await _row(harness, read.id)).encrypted_key is not None

    async def test_non_uuid_is_not_found(self, harness: Harness, owner: str) -> None:
        with pytest.raises(ProviderNotConfigured):
            await harness.run(lambda s: s.providers.delete_connection(owner, "'; DROP TABLE x"))


class TestCrossUserResolution:
    async def test_other_users_connection_id_is_never_used(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        theirs = await _save(harness, owner, base_url=LOCAL, allow_private=True)

        with pytest.raises(ProviderNotConfigured):
            await _endpoint(harness, other, "openai", connection_id=theirs.id)

    async def test_other_users_connection_id_resolves_to_own(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        theirs = await _save(harness, owner, base_url=LOCAL, allow_private=True)
        await _save(harness, other, api_key=OTHER_KEY)

        endpoint = await _endpoint(harness, other, "openai", connection_id=theirs.id)

        assert endpoint.api_key == OTHER_KEY
        assert endpoint.base_url == "https://api.openai.com/v1"


class TestStoredRows:
    async def test_every_stored_row_holds_no_raw_key(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)
        await _save(harness, owner, "groq", api_key=OTHER_KEY)

        async with harness.ctx.unit_of_work() as uow:
            rows = list(await uow.session.scalars(select(ProviderConnection)))
            dumped = [
                {c.name: getattr(r, c.name) for c in ProviderConnection.__table__.columns}
                for r in rows
            ]
        assert KEY not in str(dumped) and OTHER_KEY not in str(dumped)


class TestTrustIsTheServers:
    """Issue 11 #1: trust lives in its own column; client settings cannot carry it."""

    @pytest.mark.parametrize("reserved", ["private_ok", "trusted", "allow_private"])
    async def test_reserved_keys_in_client_settings_are_refused(
        self, harness: Harness, owner: str, reserved: str
    ) -> None:
        await _save(harness, owner)

        with pytest.raises(SwitchboardError) as caught:
            await harness.run(
                lambda s: s.providers.update_connection(
                    owner, "openai", ConnectionUpdate(settings={reserved: True})
                )
            )

        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.code == "reserved_metadata"
        assert (await _endpoint(harness, owner, "openai")).trusted is False

    async def test_reserved_keys_are_refused_at_save_before_anything_is_stored(
        self, harness: Harness, owner: str
    ) -> None:
        with pytest.raises(SwitchboardError) as caught:
            await _save(harness, owner, settings={"private_ok": True, "note": "x"})

        assert caught.value.code == "reserved_metadata"
        assert await harness.run(lambda s: s.providers.list_connections(owner)) == []

    async def test_a_private_ok_left_in_settings_by_earlier_versions_is_ignored(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner)
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == read.id)
                .values(settings={"private_ok": True})
            )

        assert (await _endpoint(harness, owner, "openai")).trusted is False
        listed = await harness.run(lambda s: s.providers.list_connections(owner))
        assert listed[0].settings == {}

    async def test_trust_is_the_column_set_by_the_server(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner, base_url=LOCAL, allow_private=True)

        assert (await _row(harness, read.id)).private_ok is True
        assert (await _endpoint(harness, owner, "openai")).trusted is True

    async def test_a_new_base_url_takes_the_trust_it_was_checked_with(
        self, harness: Harness, owner: str
    ) -> None:
        read = await _save(harness, owner, base_url=LOCAL, allow_private=True)

        await harness.run(
            lambda s: s.providers.update_connection(
                owner,
                "openai",
                ConnectionUpdate(base_url="https://93.184.216.34/v1", base_url_set=True),
            )
        )

        assert (await _row(harness, read.id)).private_ok is False


class TestExemptionsAtValidation:
    """Issue 11 #17: `SWITCHBOARD_OUTBOUND_EXEMPTIONS` holds when a user's URL is saved."""

    async def test_an_exempted_loopback_port_is_accepted(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        harness = await harness_factory(outbound_exemptions=["127.0.0.1:18080"])
        owner = (await harness.user("x@example.com")).id

        read = await _save(harness, owner, "openai_compatible", base_url=LOCAL)

        assert read.base_url == LOCAL
        assert (await _row(harness, read.id)).private_ok is False  # exempt, not trusted

    async def test_another_port_on_the_same_host_is_still_refused(
        self, harness_factory: Callable[..., Awaitable[Harness]]
    ) -> None:
        harness = await harness_factory(outbound_exemptions=["127.0.0.1:18080"])
        owner = (await harness.user("x@example.com")).id

        with pytest.raises(UnsafeUpstreamUrl):
            await _save(harness, owner, "openai_compatible", base_url=LOCAL_2)


class TestEveryUrlFailureReadsTheSame:
    """Issue 11 #8: an unresolvable base URL was a 500; every URL failure is one 400."""

    @pytest.mark.parametrize(
        "url",
        [
            "http://no-such-host.invalid/v1",
            "http://127.0.0.1:8000/v1",
            "http://169.254.169.254/",
            "ftp://example.com/",
            "not a url",
        ],
    )
    async def test_same_invalid_answer(self, harness: Harness, owner: str, url: str) -> None:
        with pytest.raises(UnsafeUpstreamUrl) as caught:
            await _save(harness, owner, "openai_compatible", base_url=url)

        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.message == URL_REFUSED
        assert caught.value.param == "baseUrl"

    async def test_unresolvable_on_update_too(self, harness: Harness, owner: str) -> None:
        await _save(harness, owner)

        with pytest.raises(UnsafeUpstreamUrl) as caught:
            await harness.run(
                lambda s: s.providers.update_connection(
                    owner,
                    "openai",
                    ConnectionUpdate(base_url="http://no-such-host.invalid/v1", base_url_set=True),
                )
            )

        assert caught.value.message == URL_REFUSED


class TestKeysSealedToTheirRow:
    """Issue 11 #21: a ciphertext copied into another row does not decrypt there."""

    async def _copy_key(self, harness: Harness, source: str, target: str) -> None:
        stolen = (await _row(harness, source)).encrypted_key
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == target)
                .values(encrypted_key=stolen)
            )

    async def test_another_users_ciphertext_is_refused(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        theirs = await _save(harness, owner, api_key=KEY)
        mine = await _save(harness, other, api_key=OTHER_KEY)
        await self._copy_key(harness, theirs.id, mine.id)

        with pytest.raises(KeyBoundElsewhere) as caught:
            await _endpoint(harness, other, "openai")

        assert KEY not in caught.value.message
        assert (await _endpoint(harness, owner, "openai")).api_key == KEY

    async def test_own_ciphertext_of_another_connection_is_refused(
        self, harness: Harness, owner: str
    ) -> None:
        default = await _save(harness, owner, api_key=KEY)
        work = await _save(harness, owner, api_key=OTHER_KEY, label="work")
        await self._copy_key(harness, default.id, work.id)

        with pytest.raises(KeyBoundElsewhere):
            await _endpoint(harness, owner, "openai", connection_id=work.id)

    async def _legacy(self, harness: Harness, owner: str) -> str:
        """A row as earlier versions wrote it: a Fernet token sealed to nothing."""
        read = await _save(harness, owner, api_key=None)
        payload = json.dumps({"origin": "https://api.openai.com:443", "key": KEY})
        async with harness.ctx.unit_of_work() as uow:
            await uow.session.execute(
                update(ProviderConnection)
                .where(ProviderConnection.id == read.id)
                .values(encrypted_key=SecretBox([TEST_SECRET]).encrypt(payload))
            )
        return str(read.id)

    async def test_rows_written_without_associated_data_are_still_read(
        self, harness: Harness, owner: str
    ) -> None:
        await self._legacy(harness, owner)

        assert (await _endpoint(harness, owner, "openai")).api_key == KEY

    async def test_rotation_seals_rows_written_without_associated_data(
        self, harness: Harness, owner: str, other: str
    ) -> None:
        legacy = await self._legacy(harness, owner)
        assert await harness.run(lambda s: s.providers.rotate_secrets()) == 1

        row = await _row(harness, legacy)
        assert row.encrypted_key is not None and row.encrypted_key.startswith("v2.")
        assert (await _endpoint(harness, owner, "openai")).api_key == KEY
        mine = await _save(harness, other, api_key=OTHER_KEY)
        await self._copy_key(harness, legacy, mine.id)
        with pytest.raises(KeyBoundElsewhere):
            await _endpoint(harness, other, "openai")


class _PlainFactory:
    """A factory that builds providers but does not own the outbound policy."""

    def __init__(self, inner: ProviderFactory) -> None:
        self._inner = inner

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        return self._inner.provider(endpoint)

    async def aclose(self) -> None:
        return None


class TestUrlCheckWithoutThePolicy:
    async def test_the_kit_rules_still_apply(self, harness: Harness, owner: str) -> None:
        setup = _setup(harness, factory=_PlainFactory(harness.ctx.providers.factory))

        def save(url: str) -> Callable[[ProviderService], Awaitable[Any]]:
            return lambda p: p.save_connection(
                owner, "openai_compatible", api_key=None, base_url=url
            )

        with pytest.raises(UnsafeUpstreamUrl):
            await _with(harness, setup, save("http://127.0.0.1:9/v1"))
        read = await _with(harness, setup, save("https://93.184.216.34/v1"))
        assert read.base_url == "https://93.184.216.34/v1"
