"""Google ID token verification and account linking, against the loopback JWKS server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.adapters.http.clients import OutboundClients
from switchboard.adapters.http.jwks import JwksFetcher
from switchboard.core.accounts.google import (
    GoogleAccountConflict,
    GoogleKeysUnavailable,
    GoogleNotConfigured,
    GoogleSignIn,
    GoogleTokenInvalid,
    GoogleVerifier,
)
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.kit.db import session_factory, unit_of_work
from tests.fixtures.app import TEST_SECRET
from tests.fixtures.upstreams.jwks_fake import CLIENT_ID, ISSUER, FakeGoogle, google, jwks_server

__all__ = ["google", "jwks_server"]

pytestmark = pytest.mark.asyncio


@pytest.fixture
def verifier(google: FakeGoogle) -> GoogleVerifier:
    return GoogleVerifier(
        JwksFetcher(OutboundClients()),
        client_id=CLIENT_ID,
        jwks_url=google.jwks_url,
        issuers=[ISSUER, "accounts.google.com"],
    )


class TestVerify:
    async def test_valid_token(self, verifier: GoogleVerifier, google: FakeGoogle) -> None:
        identity = await verifier.verify(google.sign("ada@example.com"))
        assert identity.email == "ada@example.com"
        assert identity.sub == "sub-ada@example.com"
        assert identity.name == "Ada"

    async def test_short_issuer_form_accepted(
        self, verifier: GoogleVerifier, google: FakeGoogle
    ) -> None:
        assert await verifier.verify(google.sign(iss="accounts.google.com"))

    @pytest.mark.parametrize(
        "overrides",
        [
            {"aud": "other"},
            {"iss": "https://accounts.google.com.evil"},
            {"exp": int(time.time()) - 10},
            {"email_verified": False},
            {"email_verified": "false"},
            {"sub": None},
        ],
    )
    async def test_refused_claims(
        self, verifier: GoogleVerifier, google: FakeGoogle, overrides: dict[str, object]
    ) -> None:
        with pytest.raises(GoogleTokenInvalid):
            await verifier.verify(google.sign(**overrides))

    async def test_alg_none_refused_before_any_fetch(
        self, verifier: GoogleVerifier, google: FakeGoogle
    ) -> None:
        from tests.faces.pluginmind.test_faults import unsigned_token

        with pytest.raises(GoogleTokenInvalid):
            await verifier.verify(unsigned_token(google.keys.claims(), google.keys.served[0]))
        assert google.upstream.requests == []

    async def test_not_configured(self, google: FakeGoogle) -> None:
        verifier = GoogleVerifier(
            JwksFetcher(OutboundClients()), client_id=None, jwks_url=google.jwks_url, issuers=[]
        )
        with pytest.raises(GoogleNotConfigured):
            await verifier.verify(google.sign())

    async def test_outage_is_not_a_token_error(
        self, verifier: GoogleVerifier, google: FakeGoogle
    ) -> None:
        google.upstream.fail(status=503)
        with pytest.raises(GoogleKeysUnavailable):
            await verifier.verify(google.sign())

    async def test_unknown_kids_do_not_hammer_the_jwks(
        self, verifier: GoogleVerifier, google: FakeGoogle
    ) -> None:
        await verifier.verify(google.sign())
        stranger = google.keys.add(publish=False)
        for _ in range(5):
            with pytest.raises(GoogleTokenInvalid):
                await verifier.verify(google.sign(kid=stranger))
        assert len(google.upstream.requests) == 1

    async def test_metadata_address_is_refused_even_for_the_operator(self) -> None:
        verifier = GoogleVerifier(
            JwksFetcher(OutboundClients()),
            client_id=CLIENT_ID,
            jwks_url="http://169.254.169.254/latest/meta-data",
            issuers=[ISSUER],
        )
        with pytest.raises(GoogleKeysUnavailable):
            await verifier._fetch_keys()


class TestSignIn:
    @pytest.fixture
    def run(self, engine: AsyncEngine, verifier: GoogleVerifier) -> Callable[..., object]:
        sessions = session_factory(engine)
        signer = TokenSigner([TEST_SECRET])

        async def run(work):  # type: ignore[no-untyped-def]
            async with unit_of_work(sessions) as uow:
                accounts = AccountService(uow.session, signer, access_ttl_seconds=86400)
                return await work(GoogleSignIn(uow.session, verifier, accounts), accounts)

        return run

    async def test_creates_then_finds_by_subject(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        first = await run(lambda g, a: g.sign_in(google.sign("new@example.com")))
        # Same Google account, email changed at Google: still the same user.
        second = await run(
            lambda g, a: g.sign_in(google.sign("renamed@example.com", sub="sub-new@example.com"))
        )
        assert first.user.id == second.user.id
        assert first.tokens.expires_in == 86400

    async def test_links_existing_email(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        existing = await run(lambda g, a: a.create_user(UserCreate(email="old@example.com")))
        signed = await run(lambda g, a: g.sign_in(google.sign("old@example.com")))
        assert signed.user.id == existing.id
        assert await run(lambda g, a: g.linked_subject(existing.id)) == "sub-old@example.com"

    async def test_email_linked_to_another_google_account(self, run, google: FakeGoogle) -> None:  # type: ignore[no-untyped-def]
        await run(lambda g, a: g.sign_in(google.sign("x@example.com")))
        with pytest.raises(GoogleAccountConflict):
            await run(lambda g, a: g.sign_in(google.sign("x@example.com", sub="someone-else")))
