"""AccountService sign-in, sessions and access tokens: one class per method."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import (
    AccountDisabled,
    InvalidCredentials,
    RefreshReuse,
    RefreshTokenInvalid,
    SessionNotFound,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    UserNotFound,
)
from switchboard.core.accounts.passwords import Passwords
from switchboard.core.accounts.schemas import UserRead
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.core.errors import Unauthenticated
from switchboard.kit.crypto import sha256_hex
from switchboard.kit.ids import new_id
from switchboard.models import (
    AuthSession,
    RefreshToken,
    User,
)
from tests.core.accounts.conftest import (
    PASSWORD,
    UNKNOWN_ID,
    FakeClock,
    counting_queries,
    principal_of,
    row,
)


class CountingPasswords(Passwords):
    def __init__(self, inner: Passwords) -> None:
        super().__init__(inner._hasher)
        self.dummy_calls = 0

    def dummy_verify(self, password: str) -> None:
        self.dummy_calls += 1
        super().dummy_verify(password)


class TestAuthenticate:
    async def test_right_password(self, service: AccountService, user: UserRead) -> None:
        assert (await service.authenticate("alice@example.com", PASSWORD)).id == user.id

    async def test_email_in_other_case(self, service: AccountService, user: UserRead) -> None:
        assert (await service.authenticate(" ALICE@Example.com ", PASSWORD)).id == user.id

    async def test_wrong_password_and_unknown_email_look_the_same(
        self, service: AccountService, user: UserRead
    ) -> None:
        with pytest.raises(InvalidCredentials) as wrong_password:
            await service.authenticate("alice@example.com", "wrong password")
        with pytest.raises(InvalidCredentials) as unknown_email:
            await service.authenticate("nobody@example.com", PASSWORD)
        assert wrong_password.value.message == unknown_email.value.message
        assert wrong_password.value.code == unknown_email.value.code
        assert isinstance(unknown_email.value, Unauthenticated)

    async def test_unknown_email_still_verifies_a_dummy_hash(
        self, session: AsyncSession, signer: TokenSigner, passwords: Passwords
    ) -> None:
        counting = CountingPasswords(passwords)
        service = AccountService(session, signer, passwords=counting)
        with pytest.raises(InvalidCredentials):
            await service.authenticate("nobody@example.com", PASSWORD)
        assert counting.dummy_calls == 1

    async def test_account_without_password(self, service: AccountService) -> None:
        await service.ensure_owner("owner@localhost")
        with pytest.raises(InvalidCredentials):
            await service.authenticate("owner@localhost", "")

    async def test_disabled_account(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        await session.execute(update(User).values(is_active=False))
        with pytest.raises(InvalidCredentials):
            await service.authenticate("alice@example.com", PASSWORD)

    async def test_overlong_password(self, service: AccountService, user: UserRead) -> None:
        with pytest.raises(InvalidCredentials):
            await service.authenticate("alice@example.com", "x" * 100_000)

    async def test_weak_hash_is_upgraded(
        self, session: AsyncSession, signer: TokenSigner, service: AccountService, user: UserRead
    ) -> None:
        before = (await row(session, User, user.id)).password_hash
        stronger = Passwords(Passwords()._hasher.from_parameters(_stronger_than_cheapest()))
        upgraded = AccountService(session, signer, passwords=stronger)
        await upgraded.authenticate("alice@example.com", PASSWORD)
        after = (await row(session, User, user.id)).password_hash
        assert after != before
        assert not stronger.needs_rehash(after)
        assert (await upgraded.authenticate("alice@example.com", PASSWORD)).id == user.id


def _stronger_than_cheapest() -> Any:
    import dataclasses

    from argon2.profiles import CHEAPEST

    return dataclasses.replace(CHEAPEST, time_cost=CHEAPEST.time_cost + 1)


class TestStartSession:
    async def test_pair(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id, user_agent="pytest/1.0")
        assert pair.token_type == "bearer"
        assert pair.expires_in == 3600
        principal = await service.verify_access_token(pair.access_token)
        assert (principal.user_id, principal.session_id) == (user.id, pair.session_id)
        stored = await row(session, AuthSession, pair.session_id)
        assert stored.user_agent == "pytest/1.0"
        assert stored.user_id == user.id

    async def test_refresh_token_is_stored_only_as_a_hash(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        tokens = (await session.execute(select(RefreshToken))).scalars().all()
        assert [t.token_hash for t in tokens] == [sha256_hex(pair.refresh_token)]

    async def test_expiry(self, service: AccountService, user: UserRead, clock: FakeClock) -> None:
        pair = await service.start_session(user.id)
        assert pair.refresh_expires_at == clock.now + timedelta(days=30)
        assert abs((pair.expires_at - clock.now).total_seconds() - 3600) < 1

    async def test_unknown_user(self, service: AccountService) -> None:
        with pytest.raises(UserNotFound):
            await service.start_session(new_id())

    async def test_disabled_user(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        await session.execute(update(User).values(is_active=False))
        with pytest.raises(AccountDisabled):
            await service.start_session(user.id)


class TestRefresh:
    async def test_rotation(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        first = await service.start_session(user.id)
        second = await service.refresh(first.refresh_token)
        assert second.session_id == first.session_id
        assert second.refresh_token != first.refresh_token
        assert second.access_token != first.access_token
        old = (
            await session.execute(
                select(RefreshToken).where(
                    RefreshToken.token_hash == sha256_hex(first.refresh_token)
                )
            )
        ).scalar_one()
        assert old.used_at is not None
        third = await service.refresh(second.refresh_token)
        assert (await service.verify_access_token(third.access_token)).user_id == user.id

    async def test_reuse_revokes_the_whole_family(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        first = await service.start_session(user.id)
        second = await service.refresh(first.refresh_token)
        await session.commit()

        with pytest.raises(RefreshReuse) as caught:
            await service.refresh(first.refresh_token)
        assert isinstance(caught.value, Unauthenticated)
        # The caller commits before answering, so the revocation survives.
        await session.commit()

        stored = await row(session, AuthSession, first.session_id)
        assert stored.revoked_at is not None
        assert stored.revoked_reason == "refresh_reuse"
        with pytest.raises(RefreshTokenInvalid):
            await service.refresh(second.refresh_token)
        with pytest.raises(TokenRevoked):
            await service.verify_access_token(second.access_token)

    async def test_reuse_leaves_other_sessions_alone(
        self, service: AccountService, user: UserRead
    ) -> None:
        stolen = await service.start_session(user.id)
        other = await service.start_session(user.id)
        await service.refresh(stolen.refresh_token)
        with pytest.raises(RefreshReuse):
            await service.refresh(stolen.refresh_token)
        assert (await service.refresh(other.refresh_token)).session_id == other.session_id

    async def test_a_racing_second_use_counts_as_reuse(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        # The other request marked it used after we read it but before we did.
        await session.execute(
            update(RefreshToken)
            .values(used_at=func.current_timestamp())
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(RefreshReuse):
            await service.refresh(pair.refresh_token)

    async def test_expired(self, service: AccountService, user: UserRead, clock: FakeClock) -> None:
        pair = await service.start_session(user.id)
        clock.now += timedelta(days=31)
        with pytest.raises(RefreshTokenInvalid, match="expired"):
            await service.refresh(pair.refresh_token)

    async def test_revoked_session(self, service: AccountService, user: UserRead) -> None:
        pair = await service.start_session(user.id)
        await service.revoke_session(user.id, pair.session_id)
        with pytest.raises(RefreshTokenInvalid, match="revoked"):
            await service.refresh(pair.refresh_token)

    @pytest.mark.parametrize("token", ["", "unknown-token", "x" * 10_000])
    async def test_unknown(self, service: AccountService, user: UserRead, token: str) -> None:
        with pytest.raises(RefreshTokenInvalid):
            await service.refresh(token)

    async def test_access_token_is_not_a_refresh_token(
        self, service: AccountService, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        with pytest.raises(RefreshTokenInvalid):
            await service.refresh(pair.access_token)

    async def test_disabled_user(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        await session.execute(update(User).values(is_active=False))
        with pytest.raises(AccountDisabled):
            await service.refresh(pair.refresh_token)


class TestRevokeSession:
    async def test_own_session(self, service: AccountService, user: UserRead) -> None:
        pair = await service.start_session(user.id)
        await service.revoke_session(user.id, pair.session_id)
        with pytest.raises(TokenRevoked):
            await service.verify_access_token(pair.access_token)

    async def test_other_sessions_survive(self, service: AccountService, user: UserRead) -> None:
        ended = await service.start_session(user.id)
        kept = await service.start_session(user.id)
        await service.revoke_session(user.id, ended.session_id)
        assert (await service.verify_access_token(kept.access_token)).user_id == user.id

    async def test_another_users_session_is_not_found(
        self, service: AccountService, user: UserRead, other_user: UserRead
    ) -> None:
        pair = await service.start_session(other_user.id)
        with pytest.raises(SessionNotFound):
            await service.revoke_session(user.id, pair.session_id)
        assert (await service.verify_access_token(pair.access_token)).user_id == other_user.id

    @pytest.mark.parametrize("session_id", [UNKNOWN_ID, "nonsense"])
    async def test_unknown(self, service: AccountService, user: UserRead, session_id: str) -> None:
        with pytest.raises(SessionNotFound):
            await service.revoke_session(user.id, session_id)

    async def test_twice_is_fine(self, service: AccountService, user: UserRead) -> None:
        pair = await service.start_session(user.id)
        await service.revoke_session(user.id, pair.session_id)
        await service.revoke_session(user.id, pair.session_id)

    async def test_takes_effect_at_once_through_the_cache(
        self, cached_service: AccountService, user: UserRead
    ) -> None:
        pair = await cached_service.start_session(user.id)
        await cached_service.verify_access_token(pair.access_token)
        await cached_service.revoke_session(user.id, pair.session_id)
        with pytest.raises(TokenRevoked):
            await cached_service.verify_access_token(pair.access_token)


class TestLogoutEverywhere:
    async def test_every_token_and_session_ends(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        first = await service.start_session(user.id)
        second = await service.start_session(user.id)
        await service.logout_everywhere(user.id)
        for pair in (first, second):
            with pytest.raises(TokenRevoked):
                await service.verify_access_token(pair.access_token)
            with pytest.raises(RefreshTokenInvalid):
                await service.refresh(pair.refresh_token)
        assert (await row(session, User, user.id)).token_version == 1

    async def test_new_sign_in_works_afterwards(
        self, service: AccountService, user: UserRead
    ) -> None:
        await service.start_session(user.id)
        await service.logout_everywhere(user.id)
        pair = await service.start_session(user.id)
        assert (await service.verify_access_token(pair.access_token)).user_id == user.id

    async def test_other_users_are_untouched(
        self, service: AccountService, user: UserRead, other_user: UserRead
    ) -> None:
        pair = await service.start_session(other_user.id)
        await service.logout_everywhere(user.id)
        assert (await service.verify_access_token(pair.access_token)).user_id == other_user.id

    async def test_api_keys_survive(self, service: AccountService, user: UserRead) -> None:
        created = await service.create_api_key(principal_of(user), name="ci")
        await service.logout_everywhere(user.id)
        assert (await service.verify_api_key(created.key)).user_id == user.id


class TestVerifyAccessToken:
    async def test_principal(self, service: AccountService, admin: UserRead) -> None:
        pair = await service.start_session(admin.id)
        principal = await service.verify_access_token(pair.access_token)
        assert principal.user_id == admin.id
        assert principal.email == "admin@example.com"
        assert principal.is_admin
        assert principal.scopes is None
        assert principal.has_scope("admin")
        assert principal.auth_method == "access_token"
        assert principal.api_key_id is None

    async def test_auth_method_is_the_callers(
        self, cached_service: AccountService, user: UserRead
    ) -> None:
        pair = await cached_service.start_session(user.id)
        cookie = await cached_service.verify_access_token(
            pair.access_token, auth_method="session_cookie"
        )
        bearer = await cached_service.verify_access_token(pair.access_token)
        assert (cookie.auth_method, bearer.auth_method) == ("session_cookie", "access_token")

    async def test_expired(self, service: AccountService, user: UserRead, clock: FakeClock) -> None:
        clock.now -= timedelta(hours=2)
        pair = await service.start_session(user.id)
        with pytest.raises(TokenExpired, match="Token has expired"):
            await service.verify_access_token(pair.access_token)

    async def test_garbage(self, service: AccountService) -> None:
        with pytest.raises(TokenInvalid, match="Invalid authentication token"):
            await service.verify_access_token("garbage")

    async def test_signed_by_us_but_session_unknown(
        self, service: AccountService, signer: TokenSigner, user: UserRead
    ) -> None:
        token = signer.issue(user_id=user.id, session_id=new_id(), token_version=0).token
        with pytest.raises(TokenInvalid):
            await service.verify_access_token(token)

    async def test_session_of_another_user(
        self, service: AccountService, signer: TokenSigner, user: UserRead, other_user: UserRead
    ) -> None:
        theirs = await service.start_session(other_user.id)
        token = signer.issue(user_id=user.id, session_id=theirs.session_id, token_version=0)
        with pytest.raises(TokenInvalid):
            await service.verify_access_token(token.token)

    async def test_disabled_user(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        await session.execute(update(User).values(is_active=False))
        with pytest.raises(AccountDisabled):
            await service.verify_access_token(pair.access_token)

    async def test_cache_hit_needs_no_query(
        self, cached_service: AccountService, engine: AsyncEngine, user: UserRead
    ) -> None:
        pair = await cached_service.start_session(user.id)
        await cached_service.verify_access_token(pair.access_token)
        with counting_queries(engine) as statements:
            await cached_service.verify_access_token(pair.access_token)
        assert statements == []

    async def test_cache_serves_a_revocation_from_elsewhere_until_its_ttl(
        self,
        session: AsyncSession,
        signer: TokenSigner,
        passwords: Passwords,
        user: UserRead,
    ) -> None:
        ticks = [0.0]
        cache = CredentialCache(ttl_seconds=5, monotonic=lambda: ticks[0])
        service = AccountService(session, signer, passwords=passwords, cache=cache)
        pair = await service.start_session(user.id)
        await service.verify_access_token(pair.access_token)
        # Another replica revokes: this process only learns of it when the entry expires.
        await session.execute(update(AuthSession).values(revoked_at=func.current_timestamp()))
        ticks[0] = 4.9
        await service.verify_access_token(pair.access_token)
        ticks[0] = 5.0
        with pytest.raises(TokenRevoked):
            await service.verify_access_token(pair.access_token)
