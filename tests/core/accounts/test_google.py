"""Google as an ID-token issuer: verification against the loopback JWKS server, and which
accounts a Google identity may link to (gmail.com, or its hosted domain `hd`)."""

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
    IdentitySignIn,
    IssuerSignIn,
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
from switchboard.kit.db import session_factory, unit_of_work
from tests.fixtures.app import TEST_SECRET
from tests.fixtures.upstreams.jwks_fake import CLIENT_ID, ISSUER, FakeGoogle, google, jwks_server

__all__ = ["google", "jwks_server"]

pytestmark = pytest.mark.asyncio

T = TypeVar("T")
Work = Callable[[IssuerSignIn, AccountService], Awaitable[T]]


def google_verifier(
    clients: OutboundClients, jwks_url: str, client_id: str | None = CLIENT_ID
) -> IdTokenVerifier:
    config = google_issuer(
        client_id=client_id, jwks_url=jwks_url, issuers=[ISSUER, "accounts.google.com"]
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


class TestSignIn:
    @pytest.fixture
    def run(
        self, engine: AsyncEngine, verifier: IdTokenVerifier
    ) -> Callable[[Work[Any]], Awaitable[Any]]:
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
        self, run, google: FakeGoogle, overrides: dict[str, str]
    ) -> None:
        existing = await run(lambda g, a: a.create_user(UserCreate(email="old@example.com")))
        signed = await run(lambda g, a: g.sign_in(google.sign("old@example.com", **overrides)))
        assert signed.user.id != existing.id
        # The address stays with the account that has it.
        assert signed.user.email.endswith("@unclaimed.invalid")
        assert await run(lambda g, a: g.linked_subject(existing.id)) is None

    async def test_address_linked_to_another_google_account(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        await run(lambda g, a: g.sign_in(google.sign("x@gmail.com")))
        with pytest.raises(IdentityConflict) as refused:
            await run(lambda g, a: g.sign_in(google.sign("x@gmail.com", sub="someone-else")))
        assert refused.value.code == "google_account_conflict"

    async def test_profile_fills_only_empty_fields(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        created = await run(
            lambda g, a: a.create_user(UserCreate(email="ann@gmail.com", full_name="Ann B."))
        )
        signed = await run(lambda g, a: g.sign_in(google.sign("ann@gmail.com")))
        assert signed.user.id == created.id
        assert signed.user.full_name == "Ann B."
        assert signed.user.avatar_url == "https://lh3.googleusercontent.com/a/test"
