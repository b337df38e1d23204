"""Google as an ID-token issuer: verification against the loopback JWKS server, and which
accounts a Google identity may link to (gmail.com, its hosted domain `hd`, the operator's
SWITCHBOARD_GOOGLE_EMAIL_DOMAINS, or an explicit link by the signed-in holder)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.adapters.http.clients import OutboundClients
from switchboard.adapters.http.jwks import JwksFetcher
from switchboard.core.accounts.google import (
    GOOGLE,
    GOOGLE_ISSUER,
    google_issuer,
)
from switchboard.core.accounts.identities import (
    IdentityConflict,
    IdentityLinkedElsewhere,
    IdentitySignIn,
    IssuerSignIn,
    LinkRequired,
)
from switchboard.core.accounts.oidc import (
    IdTokenInvalid,
    IdTokenVerifier,
    IssuerNotConfigured,
    JwksUnavailable,
)
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.core.errors import ErrorKind
from switchboard.kit.db import session_factory, unit_of_work
from tests.fixtures.app import TEST_SECRET
from tests.fixtures.upstreams.jwks_fake import CLIENT_ID, ISSUER, FakeGoogle, google, jwks_server

__all__ = ["google", "jwks_server"]

pytestmark = pytest.mark.asyncio

T = TypeVar("T")
Work = Callable[[IssuerSignIn, AccountService], Awaitable[T]]


def google_verifier(
    clients: OutboundClients,
    jwks_url: str,
    client_id: str | None = CLIENT_ID,
    email_domains: tuple[str, ...] = (),
) -> IdTokenVerifier:
    config = google_issuer(
        client_id=client_id,
        jwks_url=jwks_url,
        issuers=[ISSUER, "accounts.google.com"],
        email_domains=email_domains,
    )
    return IdTokenVerifier(config, JwksFetcher(clients))


@pytest.fixture
async def clients() -> AsyncIterator[OutboundClients]:
    """Outbound HTTP clients, closed after the test with their pooled connections."""
    outbound = OutboundClients()
    yield outbound
    await outbound.aclose()


@pytest.fixture
def verifier(google: FakeGoogle, clients: OutboundClients) -> IdTokenVerifier:
    return google_verifier(clients, google.jwks_url)


class TestVerify:
    async def test_valid_token(self, verifier: IdTokenVerifier, google: FakeGoogle) -> None:
        identity = await verifier.verify(google.sign("ada@example.com"))
        assert identity.email == "ada@example.com"
        assert identity.subject == "sub-ada@example.com"
        assert identity.name == "Ada"
        assert identity.issuer == GOOGLE_ISSUER

    async def test_short_issuer_form_accepted_and_stored_canonically(
        self, verifier: IdTokenVerifier, google: FakeGoogle
    ) -> None:
        identity = await verifier.verify(google.sign(iss="accounts.google.com"))
        assert identity.issuer == GOOGLE_ISSUER

    @pytest.mark.parametrize(
        "overrides",
        [
            {"aud": "other"},
            {"iss": "https://accounts.google.com.evil"},
            {"exp": int(time.time()) - 10},
            {"email_verified": False},
            {"email_verified": "false"},
            {"sub": None},
            {"sub": "x" * 256},
        ],
    )
    async def test_refused_claims(
        self, verifier: IdTokenVerifier, google: FakeGoogle, overrides: dict[str, Any]
    ) -> None:
        with pytest.raises(IdTokenInvalid) as refused:
            await verifier.verify(google.sign(**overrides))
        # PluginMind renders `google_*` codes as AUTHENTICATION_FAILED.
        assert refused.value.code == "google_token_invalid"

    async def test_alg_none_refused_before_any_fetch(
        self, verifier: IdTokenVerifier, google: FakeGoogle
    ) -> None:
        from tests.faces.pluginmind.test_faults import unsigned_token

        with pytest.raises(IdTokenInvalid):
            await verifier.verify(unsigned_token(google.keys.claims(), google.keys.served[0]))
        assert google.upstream.requests == []

    async def test_not_configured(self, google: FakeGoogle, clients: OutboundClients) -> None:
        verifier = google_verifier(clients, google.jwks_url, client_id=None)
        assert not verifier.configured
        assert not verifier.recognizes(google.sign())
        with pytest.raises(IssuerNotConfigured) as refused:
            await verifier.verify(google.sign())
        assert refused.value.code == "google_not_configured"

    async def test_outage_is_not_a_token_error(
        self, verifier: IdTokenVerifier, google: FakeGoogle
    ) -> None:
        google.upstream.fail(status=503)
        with pytest.raises(JwksUnavailable):
            await verifier.verify(google.sign())

    async def test_unknown_kids_do_not_hammer_the_jwks(
        self, verifier: IdTokenVerifier, google: FakeGoogle
    ) -> None:
        await verifier.verify(google.sign())
        stranger = google.keys.add(publish=False)
        for _ in range(5):
            with pytest.raises(IdTokenInvalid):
                await verifier.verify(google.sign(kid=stranger))
        assert len(google.upstream.requests) == 1

    async def test_metadata_address_is_refused_even_for_the_operator(
        self, clients: OutboundClients
    ) -> None:
        verifier = google_verifier(clients, "http://169.254.169.254/latest/meta-data")
        with pytest.raises(JwksUnavailable):
            await verifier._fetch_keys()


def make_run(
    engine: AsyncEngine, verifier: IdTokenVerifier
) -> Callable[[Work[Any]], Awaitable[Any]]:
    """Run work with Google sign-in in a committed unit of work."""
    sessions = session_factory(engine)
    signer = TokenSigner([TEST_SECRET])

    async def run(work: Work[T]) -> T:
        async with unit_of_work(sessions) as uow:

            def accounts(ttl: int | None) -> AccountService:
                return AccountService(uow.session, signer, access_ttl_seconds=ttl)

            identities = IdentitySignIn(uow.session, {GOOGLE: verifier}, accounts)
            bound = IssuerSignIn(identities, GOOGLE)
            return await work(bound, accounts(None))

    return run


class TestSignIn:
    @pytest.fixture
    def run(
        self, engine: AsyncEngine, verifier: IdTokenVerifier
    ) -> Callable[[Work[Any]], Awaitable[Any]]:
        return make_run(engine, verifier)

    async def test_creates_then_finds_by_subject(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        first = await run(lambda g, a: g.sign_in(google.sign("new@example.com")))
        # Same Google account, email changed at Google: still the same user.
        second = await run(
            lambda g, a: g.sign_in(google.sign("renamed@example.com", sub="sub-new@example.com"))
        )
        assert first.user.id == second.user.id
        assert first.user.email == "new@example.com"

    async def test_session_lifetime_is_the_callers(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        signed = await run(lambda g, a: g.sign_in(google.sign(), session_ttl_seconds=600))
        assert signed.tokens.expires_in == 600

    @pytest.mark.parametrize(
        ("email", "overrides"),
        [
            ("old@gmail.com", {}),
            ("old@googlemail.com", {}),
            ("old@example.com", {"hd": "example.com"}),
            ("Old@Example.com", {"hd": "example.com"}),
        ],
    )
    async def test_links_an_existing_account_where_google_owns_the_address(  # type: ignore[no-untyped-def]
        self, run, google: FakeGoogle, email: str, overrides: dict[str, str]
    ) -> None:
        existing = await run(lambda g, a: a.create_user(UserCreate(email=email)))
        signed = await run(lambda g, a: g.sign_in(google.sign(email, sub="s1", **overrides)))
        assert signed.user.id == existing.id
        assert await run(lambda g, a: g.linked_subject(existing.id)) == "s1"

    @pytest.mark.parametrize("overrides", [{}, {"hd": "elsewhere.com"}])
    async def test_never_takes_over_an_address_google_does_not_own(  # type: ignore[no-untyped-def]
        self, run, google: FakeGoogle, engine: AsyncEngine, overrides: dict[str, str]
    ) -> None:
        existing = await run(lambda g, a: a.create_user(UserCreate(email="old@example.com")))
        with pytest.raises(LinkRequired) as refused:
            await run(lambda g, a: g.sign_in(google.sign("old@example.com", **overrides)))
        # A refusal with a clear message, not a 401 and not a second, phantom account.
        assert refused.value.kind == ErrorKind.CONFLICT
        assert refused.value.code == "google_link_required"
        assert "link your Google account" in refused.value.message
        assert await run(lambda g, a: g.linked_subject(existing.id)) is None
        assert (await run(lambda g, a: a.list_users())).total == 1

    async def test_address_linked_to_another_google_account(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        await run(lambda g, a: g.sign_in(google.sign("x@gmail.com")))
        with pytest.raises(IdentityConflict) as refused:
            await run(lambda g, a: g.sign_in(google.sign("x@gmail.com", sub="someone-else")))
        assert refused.value.code == "google_account_conflict"
        # Refused for the account's state (409), not for the token (which was valid).
        assert refused.value.kind == ErrorKind.CONFLICT

    async def test_the_owners_own_sign_in_still_works_after_a_refused_one(  # type: ignore[no-untyped-def]
        self, run, google: FakeGoogle
    ) -> None:
        owner = await run(
            lambda g, a: a.create_user(UserCreate(email="boss@corp.com"), is_admin=True)
        )
        # Someone's Google account with the address verified, but Google is not corp.com's.
        with pytest.raises(LinkRequired):
            await run(lambda g, a: g.sign_in(google.sign("boss@corp.com", sub="intruder")))
        # The owner's Workspace account: Google is authoritative (`hd`), so it links.
        mine = await run(
            lambda g, a: g.sign_in(google.sign("boss@corp.com", sub="boss", hd="corp.com"))
        )
        assert mine.user.id == owner.id and mine.user.is_admin
        assert await run(lambda g, a: g.linked_subject(owner.id)) == "boss"
        with pytest.raises(LinkRequired):
            await run(lambda g, a: g.sign_in(google.sign("boss@corp.com", sub="intruder")))

    async def test_an_address_changed_by_normalisation_is_never_vouched_for(  # type: ignore[no-untyped-def]
        self, run, google: FakeGoogle
    ) -> None:
        await run(lambda g, a: a.create_user(UserCreate(email="ada@gmail.com")))
        # Full-width: normalises to ada@gmail.com, but Google verified another string.
        with pytest.raises(LinkRequired):
            await run(lambda g, a: g.sign_in(google.sign("\uff41\uff44\uff41@gmail.com")))


class TestOperatorDomains:
    async def test_google_email_domains_are_authoritative(
        self, engine: AsyncEngine, google: FakeGoogle, clients: OutboundClients
    ) -> None:
        verifier = google_verifier(clients, google.jwks_url, email_domains=("Corp.com",))
        run = make_run(engine, verifier)
        existing = await run(lambda g, a: a.create_user(UserCreate(email="ann@corp.com")))
        # No `hd` in the token (as for some Workspace set-ups): the setting vouches.
        signed = await run(lambda g, a: g.sign_in(google.sign("ann@corp.com", sub="ann")))
        assert signed.user.id == existing.id
        await run(lambda g, a: a.create_user(UserCreate(email="bob@other.com")))
        with pytest.raises(LinkRequired):
            await run(lambda g, a: g.sign_in(google.sign("bob@other.com")))


class TestExplicitLink:
    @pytest.fixture
    def run(
        self, engine: AsyncEngine, verifier: IdTokenVerifier
    ) -> Callable[[Work[Any]], Awaitable[Any]]:
        return make_run(engine, verifier)

    async def test_the_signed_in_holder_links_then_signs_in_with_google(  # type: ignore[no-untyped-def]
        self, run, google: FakeGoogle
    ) -> None:
        user = await run(lambda g, a: a.create_user(UserCreate(email="old@example.com")))
        token = google.sign("old@example.com", sub="mine")
        linked = await run(lambda g, a: g.link(user.id, token))
        assert linked.subject == "mine"
        # Linking the same subject again changes nothing.
        await run(lambda g, a: g.link(user.id, token))
        signed = await run(lambda g, a: g.sign_in(token))
        assert signed.user.id == user.id

    async def test_never_replaces_the_accounts_link(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        user = await run(lambda g, a: a.create_user(UserCreate(email="old@example.com")))
        await run(lambda g, a: g.link(user.id, google.sign(sub="first")))
        with pytest.raises(IdentityConflict):
            await run(lambda g, a: g.link(user.id, google.sign(sub="second")))
        assert await run(lambda g, a: g.linked_subject(user.id)) == "first"

    async def test_never_moves_a_subject_linked_elsewhere(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        first = await run(lambda g, a: g.sign_in(google.sign("someone@gmail.com", sub="s")))
        other = await run(lambda g, a: a.create_user(UserCreate(email="other@example.com")))
        with pytest.raises(IdentityLinkedElsewhere) as refused:
            await run(lambda g, a: g.link(other.id, google.sign("someone@gmail.com", sub="s")))
        assert refused.value.code == "google_linked_elsewhere"
        assert await run(lambda g, a: g.linked_subject(first.user.id)) == "s"
        assert await run(lambda g, a: g.linked_subject(other.id)) is None

    async def test_profile_fills_only_empty_fields(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        created = await run(
            lambda g, a: a.create_user(UserCreate(email="ann@gmail.com", full_name="Ann B."))
        )
        signed = await run(lambda g, a: g.sign_in(google.sign("ann@gmail.com")))
        assert signed.user.id == created.id
        assert signed.user.full_name == "Ann B."
        assert signed.user.avatar_url == "https://lh3.googleusercontent.com/a/test"
