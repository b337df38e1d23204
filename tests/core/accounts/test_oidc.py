"""The ID-token verifier of any issuer: algorithms pinned to the keys' shapes, claims,
e-mail handling, and a JWKS refreshed on unknown key ids at most once a minute."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.core.accounts.oidc import (
    MIN_REFETCH_SECONDS,
    IdTokenIdentity,
    IdTokenInvalid,
    IdTokenVerifier,
    IssuerConfig,
    JwksUnavailable,
    unverified_issuer,
)
from tests.core.accounts.oidc_tenant import AUDIENCE, ISSUER, JWKS_URL, Tenant
from tests.fixtures.clock import ManualClock


@pytest.fixture
def tenant() -> Tenant:
    tenant = Tenant()
    tenant.add("RS256")
    return tenant


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def config(**overrides: Any) -> IssuerConfig:
    base = IssuerConfig(
        name="oidc",
        issuers=(ISSUER,),
        audience=AUDIENCE,
        jwks_url=JWKS_URL,
        algorithms=("RS256", "ES256"),
    )
    return replace(base, **overrides)


def verifier_of(tenant: Tenant, clock: ManualClock, **overrides: Any) -> IdTokenVerifier:
    return IdTokenVerifier(config(**overrides), tenant, clock=clock.monotonic)


class TestAlgorithms:
    async def test_rs256_and_es256(self, tenant: Tenant, clock: ManualClock) -> None:
        verifier = verifier_of(tenant, clock)
        ec_kid = tenant.add("ES256")
        assert (await verifier.verify(tenant.sign())).subject == "auth0|abc123"
        assert (await verifier.verify(tenant.sign(ec_kid, sub="ec-user"))).subject == "ec-user"

    async def test_an_algorithm_the_issuer_does_not_allow_is_refused_unfetched(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        ec_kid = tenant.add("ES256")
        verifier = verifier_of(tenant, clock, algorithms=("RS256",))
        with pytest.raises(IdTokenInvalid):
            await verifier.verify(tenant.sign(ec_kid))
        assert tenant.fetches == 0

    async def test_header_algorithm_must_match_the_keys_shape(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        # An ES256 header naming an RSA key's kid (signed with some EC key): refused.
        rsa_kid = tenant.published[0]
        forged = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": 1, "exp": 2**31},
            ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
            headers={"kid": rsa_kid},
        )
        with pytest.raises(IdTokenInvalid):
            await verifier_of(tenant, clock).verify(forged)

    async def test_hs256_keyed_with_the_public_key_is_refused(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        kid = tenant.published[0]
        public = tenant.jwks()["keys"][0]["n"]
        forged = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": 1, "exp": 2**31},
            public,
            algorithm="HS256",
            headers={"kid": kid},
        )
        with pytest.raises(IdTokenInvalid):
            await verifier_of(tenant, clock).verify(forged)

    async def test_unusable_entries_do_not_hide_the_others(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        tenant.extra_entries = [
            {"kid": "sym", "kty": "oct", "k": "c2VjcmV0"},
            {"kid": "p384", "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kid": "enc", **tenant.jwks()["keys"][0], "use": "enc"},
            {"kid": "broken", "kty": "RSA", "n": "!!", "e": "AQAB"},
            "not a key",
        ]
        assert await verifier_of(tenant, clock).verify(tenant.sign())

    def test_only_asymmetric_algorithms_can_be_configured(self) -> None:
        with pytest.raises(ValueError, match="RS256, ES256"):
            config(algorithms=("HS256",))
        with pytest.raises(ValueError):
            config(algorithms=())


class TestClaims:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"aud": "https://someone-else"},
            {"iss": "https://tenant.example.com"},  # no trailing slash: another issuer
            {"exp": int(time.time()) - 10},
            {"iat": None},
            {"sub": ""},
            {"sub": "x" * 256},
        ],
    )
    async def test_refused(
        self, tenant: Tenant, clock: ManualClock, overrides: dict[str, Any]
    ) -> None:
        with pytest.raises(IdTokenInvalid) as refused:
            await verifier_of(tenant, clock).verify(tenant.sign(**overrides))
        assert refused.value.code == "oidc_token_invalid"

    async def test_clock_skew_is_tolerated_as_configured(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        token = tenant.sign(exp=int(time.time()) - 30)
        assert await verifier_of(tenant, clock, clock_skew_seconds=60).verify(token)
        with pytest.raises(IdTokenInvalid, match="expired"):
            await verifier_of(tenant, clock).verify(token)

    async def test_no_email_is_needed(self, tenant: Tenant, clock: ManualClock) -> None:
        identity = await verifier_of(tenant, clock).verify(tenant.sign())
        assert identity == IdTokenIdentity(
            issuer=ISSUER,
            subject="auth0|abc123",
            email=None,
            expires_at=identity.expires_at,
        )

    @pytest.mark.parametrize(
        ("claims", "email"),
        [
            ({"email": "ada@example.com", "email_verified": True}, "ada@example.com"),
            ({"email": "ada@example.com", "email_verified": "true"}, "ada@example.com"),
            ({"email": "ada@example.com", "email_verified": False}, None),
            ({"email": "ada@example.com"}, None),
            ({"email": "not an address", "email_verified": True}, None),
        ],
    )
    async def test_only_a_verified_email_is_kept(
        self, tenant: Tenant, clock: ManualClock, claims: dict[str, Any], email: str | None
    ) -> None:
        identity = await verifier_of(tenant, clock).verify(tenant.sign(**claims))
        assert identity.email == email

    async def test_hosted_domain_only_from_the_configured_claim(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        token = tenant.sign(hd="Example.com")
        assert (await verifier_of(tenant, clock).verify(token)).hosted_domain is None
        verifier = verifier_of(tenant, clock, hosted_domain_claim="hd")
        assert (await verifier.verify(token)).hosted_domain == "example.com"


class TestKeyRefresh:
    async def test_keys_are_cached(self, tenant: Tenant, clock: ManualClock) -> None:
        verifier = verifier_of(tenant, clock)
        for _ in range(3):
            await verifier.verify(tenant.sign())
        assert tenant.fetches == 1

    async def test_unknown_kid_refetches_at_most_once_a_minute(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        verifier = verifier_of(tenant, clock)
        await verifier.verify(tenant.sign())
        rotated = tenant.add("RS256")  # published now, unknown to the cached set
        clock.advance(MIN_REFETCH_SECONDS - 1)
        for _ in range(3):
            with pytest.raises(IdTokenInvalid):
                await verifier.verify(tenant.sign(rotated))
        assert tenant.fetches == 1
        clock.advance(1)
        assert await verifier.verify(tenant.sign(rotated))
        assert tenant.fetches == 2
        stranger = tenant.add("RS256", publish=False)
        with pytest.raises(IdTokenInvalid):
            await verifier.verify(tenant.sign(stranger))
        assert tenant.fetches == 2

    async def test_keys_expire_after_the_cache_lifetime(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        verifier = verifier_of(tenant, clock, cache_seconds=300)
        await verifier.verify(tenant.sign())
        clock.advance(300)
        await verifier.verify(tenant.sign())
        assert tenant.fetches == 2

    async def test_outage_is_unavailable_not_invalid(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        tenant.down = True
        with pytest.raises(JwksUnavailable):
            await verifier_of(tenant, clock).verify(tenant.sign())

    async def test_a_set_without_usable_keys_is_unavailable(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        ec_only = tenant.add("ES256")
        tenant.published = [ec_only]
        verifier = verifier_of(tenant, clock, algorithms=("RS256",))
        with pytest.raises(JwksUnavailable):
            await verifier.verify(tenant.sign(tenant.add("RS256", publish=False)))


class TestRecognition:
    async def test_unverified_issuer(self, tenant: Tenant) -> None:
        assert unverified_issuer(tenant.sign()) == ISSUER
        assert unverified_issuer("sb-abc_def") is None
        assert unverified_issuer("a.b.c") is None
        assert unverified_issuer(tenant.sign(iss=None)) is None

    async def test_recognizes_its_own_issuer_only_when_configured(
        self, tenant: Tenant, clock: ManualClock
    ) -> None:
        assert verifier_of(tenant, clock).recognizes(tenant.sign())
        assert not verifier_of(tenant, clock).recognizes(tenant.sign(iss="https://other/"))
        assert not verifier_of(tenant, clock, audience=None).recognizes(tenant.sign())
        assert tenant.fetches == 0


class TestAuthority:
    def identity(self, email: str | None, hosted: str | None = None) -> IdTokenIdentity:
        return IdTokenIdentity(issuer=ISSUER, subject="s", email=email, hosted_domain=hosted)

    def test_domains_listed_for_the_issuer(self) -> None:
        owned = config(email_domains=frozenset({"Corp.Example"}))
        assert owned.vouches_for(self.identity("a@corp.example"))
        assert owned.vouches_for(self.identity("a@CORP.example"))
        assert not owned.vouches_for(self.identity("a@sub.corp.example"))
        assert not owned.vouches_for(self.identity(None))
        assert not config().vouches_for(self.identity("a@corp.example"))

    def test_hosted_domain_equal_to_the_emails(self) -> None:
        assert config().vouches_for(self.identity("a@corp.example", "corp.example"))
        assert not config().vouches_for(self.identity("a@corp.example", "other.example"))
