"""AccountService API keys: one class per method, one test per scenario."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import (
    AccountDisabled,
    ApiKeyInvalid,
    ApiKeyNotFound,
    InvalidApiKeyRequest,
    ScopeNotAllowed,
    UnknownScope,
)
from switchboard.core.accounts.passwords import Passwords
from switchboard.core.accounts.schemas import UserRead
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.kit.crypto import sha256_hex
from switchboard.models import (
    ApiKey,
    User,
)
from tests.core.accounts.conftest import (
    UNKNOWN_ID,
    FakeClock,
    counting_queries,
    principal_of,
    row,
)


class TestCreateApiKey:
    async def test_format_and_storage(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(user), name=" ci ")
        assert created.name == "ci"
        assert created.key.startswith(f"sb-{created.prefix}_")
        assert len(created.prefix) == 12
        stored = await row(session, ApiKey, created.id)
        secret = created.key.split("_", 1)[1]
        assert stored.secret_hash == sha256_hex(secret)
        assert secret not in repr(vars(stored))
        assert stored.prefix == created.prefix

    async def test_default_scopes_leave_out_admin(
        self, service: AccountService, admin: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(admin), name="k")
        assert created.scopes == [
            "chat",
            "models",
            "embeddings",
            "images",
            "jobs",
            "events",
            "usage",
        ]

    async def test_explicit_scopes_are_deduplicated_in_a_fixed_order(
        self, service: AccountService, user: UserRead
    ) -> None:
        created = await service.create_api_key(
            principal_of(user), name="k", scopes=["models", "chat", "chat"]
        )
        assert created.scopes == ["chat", "models"]

    async def test_unknown_scope(self, service: AccountService, user: UserRead) -> None:
        with pytest.raises(UnknownScope):
            await service.create_api_key(principal_of(user), name="k", scopes=["chat", "root"])

    async def test_no_scopes(self, service: AccountService, user: UserRead) -> None:
        with pytest.raises(InvalidApiKeyRequest):
            await service.create_api_key(principal_of(user), name="k", scopes=[])

    async def test_admin_scope_needs_an_admin(
        self, service: AccountService, user: UserRead
    ) -> None:
        with pytest.raises(ScopeNotAllowed):
            await service.create_api_key(principal_of(user), name="k", scopes=["admin"])

    async def test_admin_scope_for_an_admin(self, service: AccountService, admin: UserRead) -> None:
        created = await service.create_api_key(principal_of(admin), name="k", scopes=["admin"])
        assert created.scopes == ["admin"]

    async def test_stale_admin_principal_cannot_grant_admin(
        self, service: AccountService, admin: UserRead
    ) -> None:
        stale = principal_of(admin)
        await service.set_admin(admin.id, False)
        with pytest.raises(ScopeNotAllowed):
            await service.create_api_key(stale, name="k", scopes=["admin"])

    async def test_scopes_must_be_a_subset_of_the_creators(
        self, service: AccountService, admin: UserRead
    ) -> None:
        creator = principal_of(admin, scopes=frozenset({"chat"}))
        with pytest.raises(ScopeNotAllowed):
            await service.create_api_key(creator, name="k", scopes=["chat", "models"])

    async def test_default_scopes_of_a_limited_creator(
        self, service: AccountService, user: UserRead
    ) -> None:
        creator = principal_of(user, scopes=frozenset({"chat", "jobs"}))
        created = await service.create_api_key(creator, name="k")
        assert created.scopes == ["chat", "jobs"]

    async def test_key_made_from_a_key_without_admin_scope(
        self, service: AccountService, admin: UserRead
    ) -> None:
        parent = await service.create_api_key(principal_of(admin), name="parent")
        creator = await service.verify_api_key(parent.key)
        with pytest.raises(ScopeNotAllowed):
            await service.create_api_key(creator, name="child", scopes=["admin"])

    async def test_expiry_in_the_past(
        self, service: AccountService, user: UserRead, clock: FakeClock
    ) -> None:
        with pytest.raises(InvalidApiKeyRequest):
            await service.create_api_key(
                principal_of(user), name="k", expires_at=clock.now - timedelta(seconds=1)
            )

    @pytest.mark.parametrize("name", ["", "   ", "x" * 201])
    async def test_bad_name(self, service: AccountService, user: UserRead, name: str) -> None:
        with pytest.raises(InvalidApiKeyRequest):
            await service.create_api_key(principal_of(user), name=name)

    async def test_keys_differ(self, service: AccountService, user: UserRead) -> None:
        first = await service.create_api_key(principal_of(user), name="a")
        second = await service.create_api_key(principal_of(user), name="b")
        assert first.prefix != second.prefix
        assert first.key != second.key


class TestListApiKeys:
    async def test_only_own_keys_and_no_secrets(
        self, service: AccountService, user: UserRead, other_user: UserRead
    ) -> None:
        mine = await service.create_api_key(principal_of(user), name="mine")
        await service.create_api_key(principal_of(other_user), name="theirs")
        listed = await service.list_api_keys(user.id)
        assert [k.id for k in listed] == [mine.id]
        dumped = listed[0].model_dump()
        assert "key" not in dumped
        assert "secret_hash" not in dumped
        assert mine.key.split("_", 1)[1] not in str(dumped)

    async def test_revoked_keys_only_on_request(
        self, service: AccountService, user: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        await service.revoke_api_key(user.id, created.id)
        assert await service.list_api_keys(user.id) == []
        listed = await service.list_api_keys(user.id, include_revoked=True)
        assert listed[0].revoked_at is not None


class TestRevokeApiKey:
    async def test_own_key(self, service: AccountService, user: UserRead) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        await service.revoke_api_key(user.id, created.id)
        with pytest.raises(ApiKeyInvalid, match="revoked"):
            await service.verify_api_key(created.key)

    async def test_another_users_key_is_not_found(
        self, service: AccountService, user: UserRead, other_user: UserRead
    ) -> None:
        theirs = await service.create_api_key(principal_of(other_user), name="k")
        with pytest.raises(ApiKeyNotFound):
            await service.revoke_api_key(user.id, theirs.id)
        assert (await service.verify_api_key(theirs.key)).user_id == other_user.id

    @pytest.mark.parametrize("key_id", [UNKNOWN_ID, "nonsense", ""])
    async def test_unknown(self, service: AccountService, user: UserRead, key_id: str) -> None:
        with pytest.raises(ApiKeyNotFound):
            await service.revoke_api_key(user.id, key_id)

    async def test_twice_keeps_the_first_revocation_time(
        self, service: AccountService, user: UserRead, clock: FakeClock
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        await service.revoke_api_key(user.id, created.id)
        clock.now += timedelta(hours=1)
        await service.revoke_api_key(user.id, created.id)
        listed = await service.list_api_keys(user.id, include_revoked=True)
        assert listed[0].revoked_at == clock.now - timedelta(hours=1)

    async def test_takes_effect_at_once_through_the_cache(
        self, cached_service: AccountService, user: UserRead
    ) -> None:
        created = await cached_service.create_api_key(principal_of(user), name="k")
        await cached_service.verify_api_key(created.key)
        await cached_service.revoke_api_key(user.id, created.id)
        with pytest.raises(ApiKeyInvalid):
            await cached_service.verify_api_key(created.key)


class TestVerifyApiKey:
    async def test_principal(self, service: AccountService, user: UserRead) -> None:
        created = await service.create_api_key(principal_of(user), name="k", scopes=["chat"])
        principal = await service.verify_api_key(created.key)
        assert principal.user_id == user.id
        assert principal.api_key_id == created.id
        assert principal.auth_method == "api_key"
        assert principal.scopes == frozenset({"chat"})
        assert principal.has_scope("chat")
        assert not principal.has_scope("models")
        assert principal.session_id is None

    async def test_admin_only_with_the_admin_scope(
        self, service: AccountService, admin: UserRead
    ) -> None:
        plain = await service.create_api_key(principal_of(admin), name="plain")
        powerful = await service.create_api_key(
            principal_of(admin), name="admin", scopes=["chat", "admin"]
        )
        assert not (await service.verify_api_key(plain.key)).is_admin
        assert (await service.verify_api_key(powerful.key)).is_admin

    async def test_wrong_secret_with_a_real_prefix(
        self, service: AccountService, user: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        forged = f"sb-{created.prefix}_{'A' * 43}"
        with pytest.raises(ApiKeyInvalid, match="Invalid API key"):
            await service.verify_api_key(forged)

    @pytest.mark.parametrize(
        "raw",
        ["", "sb-", "sk-abc", "sb-short_" + "a" * 43, "sb-abcdefghijkl_", "x" * 5000],
    )
    async def test_malformed(self, service: AccountService, raw: str) -> None:
        with pytest.raises(ApiKeyInvalid):
            await service.verify_api_key(raw)

    async def test_trailing_newline_is_malformed(
        self, service: AccountService, user: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        with pytest.raises(ApiKeyInvalid):
            await service.verify_api_key(created.key + "\n")

    async def test_expired(self, service: AccountService, user: UserRead, clock: FakeClock) -> None:
        created = await service.create_api_key(
            principal_of(user), name="k", expires_at=clock.now + timedelta(hours=1)
        )
        assert (await service.verify_api_key(created.key)).user_id == user.id
        clock.now += timedelta(hours=2)
        with pytest.raises(ApiKeyInvalid, match="expired"):
            await service.verify_api_key(created.key)

    async def test_disabled_user(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        await session.execute(update(User).values(is_active=False))
        with pytest.raises(AccountDisabled):
            await service.verify_api_key(created.key)

    async def test_last_used_is_written_at_most_once_a_minute(
        self, service: AccountService, session: AsyncSession, user: UserRead, clock: FakeClock
    ) -> None:
        created = await service.create_api_key(principal_of(user), name="k")
        start = clock.now
        await service.verify_api_key(created.key)
        assert (await row(session, ApiKey, created.id)).last_used_at == start
        clock.now += timedelta(seconds=30)
        await service.verify_api_key(created.key)
        assert (await row(session, ApiKey, created.id)).last_used_at == start
        clock.now += timedelta(seconds=31)
        await service.verify_api_key(created.key)
        assert (await row(session, ApiKey, created.id)).last_used_at == clock.now

    async def test_cache_hit_needs_no_query(
        self, cached_service: AccountService, engine: AsyncEngine, user: UserRead
    ) -> None:
        created = await cached_service.create_api_key(principal_of(user), name="k")
        await cached_service.verify_api_key(created.key)
        with counting_queries(engine) as statements:
            for _ in range(100):
                await cached_service.verify_api_key(created.key)
        assert statements == []

    async def test_concurrent_misses_share_one_lookup(
        self,
        cached_service: AccountService,
        cache: CredentialCache,
        engine: AsyncEngine,
        user: UserRead,
    ) -> None:
        created = await cached_service.create_api_key(principal_of(user), name="k")
        with counting_queries(engine) as statements:
            principals = await asyncio.gather(
                *(cached_service.verify_api_key(created.key) for _ in range(32))
            )
        assert {p.api_key_id for p in principals} == {created.id}
        assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 1
        assert cache.inflight == {}

    async def test_cache_never_outlives_the_key(
        self,
        session: AsyncSession,
        signer: TokenSigner,
        passwords: Passwords,
        user: UserRead,
        clock: FakeClock,
    ) -> None:
        ticks = [0.0]
        cache = CredentialCache(ttl_seconds=5, monotonic=lambda: ticks[0])
        service = AccountService(session, signer, passwords=passwords, cache=cache, clock=clock)
        created = await service.create_api_key(
            principal_of(user), name="k", expires_at=clock.now + timedelta(seconds=2)
        )
        await service.verify_api_key(created.key)
        ticks[0] = 1.9
        assert (await service.verify_api_key(created.key)).user_id == user.id
        ticks[0], clock.now = 2.0, clock.now + timedelta(seconds=2)
        with pytest.raises(ApiKeyInvalid, match="expired"):
            await service.verify_api_key(created.key)

    async def test_failures_are_not_cached(
        self, cached_service: AccountService, cache: CredentialCache
    ) -> None:
        with pytest.raises(ApiKeyInvalid):
            await cached_service.verify_api_key("sb-abcdefghijkl_" + "a" * 43)
        assert len(cache) == 0
