"""Linking an external issuer's subjects to accounts: a new account on first sight, an
existing one only where the issuer owns the e-mail's domain or its holder links it,
never a silent takeover."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import AccountDisabled
from switchboard.core.accounts.identities import (
    UNCLAIMED_EMAIL_DOMAIN,
    IdentityConflict,
    IdentitySignIn,
    LinkRequired,
)
from switchboard.core.accounts.identity_repository import IdentityRepository
from switchboard.core.accounts.oidc import OIDC, IdTokenVerifier, IssuerConfig, IssuerNotConfigured
from switchboard.core.accounts.schemas import UserCreate, UserRead
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.core.errors import ErrorKind
from switchboard.kit.crypto import sha256_hex
from switchboard.kit.db import session_factory, unit_of_work
from switchboard.models import Identity, User
from tests.core.accounts.conftest import SECRET
from tests.core.accounts.oidc_tenant import AUDIENCE, ISSUER, JWKS_URL, Tenant

T = TypeVar("T")
Work = Callable[[IdentitySignIn, AccountService], Awaitable[T]]
Run = Callable[[Work[Any]], Awaitable[Any]]

VERIFIED: dict[str, Any] = {"email_verified": True}


@pytest.fixture
def tenant() -> Tenant:
    tenant = Tenant()
    tenant.add()
    return tenant


@pytest.fixture
def cache() -> CredentialCache:
    return CredentialCache()


def make_run(engine: AsyncEngine, tenant: Tenant, cache: CredentialCache, **config: Any) -> Run:
    """Run work in a committed unit of work, with the tenant configured as "oidc"."""
    sessions = session_factory(engine)
    signer = TokenSigner([SECRET])
    issuer = IssuerConfig(
        name=OIDC, issuers=(ISSUER,), audience=AUDIENCE, jwks_url=JWKS_URL, **config
    )
    verifiers = {OIDC: IdTokenVerifier(issuer, tenant)}

    async def run(work: Work[T]) -> T:
        async with unit_of_work(sessions) as uow:

            def accounts(ttl: int | None) -> AccountService:
                return AccountService(uow.session, signer, access_ttl_seconds=ttl, cache=cache)

            identities = IdentitySignIn(uow.session, verifiers, accounts, cache=cache)
            return await work(identities, accounts(None))

    return run


@pytest.fixture
def run(engine: AsyncEngine, tenant: Tenant, cache: CredentialCache) -> Run:
    return make_run(engine, tenant, cache)


async def create(run: Run, email: str) -> UserRead:
    user: UserRead = await run(lambda s, a: a.create_user(UserCreate(email=email)))
    return user


async def links(engine: AsyncEngine) -> list[tuple[str, str, str, str | None]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(Identity.issuer, Identity.subject, Identity.user_id, Identity.email)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


class TestFirstSight:
    async def test_a_subject_without_email_gets_an_account(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        first = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        again = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        assert first.user.id == again.user.id
        assert first.user.email.endswith("@" + UNCLAIMED_EMAIL_DOMAIN)
        assert not first.user.has_password
        assert await links(engine) == [(ISSUER, "auth0|abc123", first.user.id, None)]

    async def test_a_verified_email_nobody_has_is_used(self, run: Run, tenant: Tenant) -> None:
        signed = await run(lambda s, a: s.sign_in(OIDC, tenant.sign(email="Ada@x.io", **VERIFIED)))
        assert signed.user.email == "ada@x.io"

    async def test_an_unverified_email_is_not_used(self, run: Run, tenant: Tenant) -> None:
        signed = await run(lambda s, a: s.sign_in(OIDC, tenant.sign(email="ada@x.io")))
        assert signed.user.email.endswith("@" + UNCLAIMED_EMAIL_DOMAIN)

    async def test_session_lifetime_defaults_to_the_operators(
        self, run: Run, tenant: Tenant
    ) -> None:
        default = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        chosen = await run(lambda s, a: s.sign_in(OIDC, tenant.sign(), session_ttl_seconds=90))
        assert (default.tokens.expires_in, chosen.tokens.expires_in) == (3600, 90)


class TestExistingAccounts:
    async def test_an_issuer_that_does_not_own_the_domain_is_refused(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        await create(run, "ada@x.io")
        token = tenant.sign(email="ada@x.io", **VERIFIED)
        with pytest.raises(LinkRequired) as refused:
            await run(lambda s, a: s.sign_in(OIDC, token))
        assert refused.value.code == "oidc_link_required"
        # The same rule when the token is presented as a bearer credential.
        with pytest.raises(LinkRequired):
            await run(lambda s, a: s.principal(OIDC, token))
        assert await links(engine) == []

    async def test_an_unverified_email_claims_nothing(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        existing = await create(run, "ada@x.io")
        token = tenant.sign(email="ada@x.io", email_verified=False)
        signed = await run(lambda s, a: s.sign_in(OIDC, token))
        assert signed.user.id != existing.id
        assert signed.user.email.endswith("@" + UNCLAIMED_EMAIL_DOMAIN)
        assert [link[2] for link in await links(engine)] == [signed.user.id]

    async def test_the_holder_links_explicitly(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        existing = await create(run, "ada@x.io")
        token = tenant.sign(email="ada@x.io", **VERIFIED)
        await run(lambda s, a: s.link(existing.id, OIDC, token))
        signed = await run(lambda s, a: s.sign_in(OIDC, token))
        assert signed.user.id == existing.id

    async def test_an_owned_domain_links_the_existing_account(
        self, engine: AsyncEngine, tenant: Tenant, cache: CredentialCache
    ) -> None:
        run = make_run(engine, tenant, cache, email_domains=frozenset({"x.io"}))
        existing = await create(run, "ada@x.io")
        signed = await run(lambda s, a: s.sign_in(OIDC, tenant.sign(email="ADA@x.io", **VERIFIED)))
        assert signed.user.id == existing.id
        assert await run(lambda s, a: s.linked_subject(existing.id, OIDC)) == "auth0|abc123"

    async def test_an_account_linked_to_another_subject_is_refused(
        self, engine: AsyncEngine, tenant: Tenant, cache: CredentialCache
    ) -> None:
        run = make_run(engine, tenant, cache, email_domains=frozenset({"x.io"}))
        await run(lambda s, a: s.sign_in(OIDC, tenant.sign(email="ada@x.io", **VERIFIED)))
        other = tenant.sign(sub="auth0|other", email="ada@x.io", **VERIFIED)
        with pytest.raises(IdentityConflict) as refused:
            await run(lambda s, a: s.sign_in(OIDC, other))
        assert refused.value.code == "oidc_account_conflict"
        assert refused.value.kind == ErrorKind.CONFLICT

    async def test_the_last_asserted_email_is_recorded(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        await run(lambda s, a: s.sign_in(OIDC, tenant.sign(email="new@x.io", **VERIFIED)))
        assert [link[3] for link in await links(engine)] == ["new@x.io"]

    async def test_a_disabled_account_cannot_sign_in(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        signed = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        async with session_factory(engine)() as session:
            user = await session.get(User, signed.user.id)
            assert user is not None
            user.is_active = False
            await session.commit()
        with pytest.raises(AccountDisabled):
            await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))

    async def test_deleting_the_account_deletes_its_links(
        self, run: Run, tenant: Tenant, engine: AsyncEngine
    ) -> None:
        signed = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        await run(lambda s, a: a.delete_user(signed.user.id))
        assert await links(engine) == []


class TestPrincipal:
    async def test_a_token_as_credential(
        self, run: Run, tenant: Tenant, cache: CredentialCache
    ) -> None:
        token = tenant.sign()
        first = await run(lambda s, a: s.principal(OIDC, token))
        assert first.auth_method == "id_token" and first.session_id is None
        # A link made in this unit of work is not cached: it is not committed yet.
        assert cache.get(sha256_hex(token)) is None
        again = await run(lambda s, a: s.principal(OIDC, token))
        assert again == first
        assert cache.get(sha256_hex(token)) == first

    async def test_an_unconfigured_issuer_name(self, run: Run, tenant: Tenant) -> None:
        with pytest.raises(IssuerNotConfigured) as refused:
            await run(lambda s, a: s.principal("elsewhere", tenant.sign()))
        assert refused.value.code == "elsewhere_not_configured"


class TestRaces:
    async def test_a_concurrent_first_sign_in_wins_and_is_used(
        self, run: Run, tenant: Tenant, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        winner = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        # This request looked before the winner committed: it saw no link.
        original = IdentityRepository.find
        calls = 0

        async def late_find(self: IdentityRepository, issuer: str, subject: str) -> Any:
            nonlocal calls
            calls += 1
            return None if calls == 1 else await original(self, issuer, subject)

        monkeypatch.setattr(IdentityRepository, "find", late_find)
        loser = await run(lambda s, a: s.sign_in(OIDC, tenant.sign()))
        assert loser.user.id == winner.user.id
        async with session_factory(engine)() as session:
            # The account the loser made inside its savepoint was rolled back with it.
            assert len((await session.execute(select(User.id))).all()) == 1
