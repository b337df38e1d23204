"""Verifying ID tokens of external OpenID Connect issuers (Google, an Auth0-style tenant).

One `IdTokenVerifier` per configured issuer. A token is accepted only when it is a JWT
signed by a key of the issuer's JWKS (fetched through the `KeyFetcher` port, so under the
outbound policy, and cached), issued by one of the issuer's `iss` values, for our
audience, and unexpired give or take the configured clock skew.

The header never chooses the algorithm: it must be one the issuer allows (RS256 and
ES256 only) *and* the one the key was published for, so `none`, HS256 keyed with a
public key and RSA/EC confusion are refused before any signature is checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from switchboard.core.accounts.errors import InvalidEmail
from switchboard.core.accounts.rules import (
    email_domain,
    is_canonical_email,
    lookup_email,
    normalize_email,
)
from switchboard.core.errors import SwitchboardError, Unauthenticated, UpstreamUnavailable

# The name of the generic issuer configured by SWITCHBOARD_OIDC_* (Google is "google").
OIDC = "oidc"
# Asymmetric only: the issuer's public keys can never be turned into an HMAC secret.
SUPPORTED_ALGORITHMS = ("RS256", "ES256")
# The JWK shape each algorithm's keys must have: (kty, crv).
_KEY_SHAPES: dict[str, tuple[str, str | None]] = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
MAX_TOKEN_LENGTH = 8192
DEFAULT_CACHE_SECONDS = 3600.0
# An unknown `kid` may mean the issuer rotated its keys; refetch, but not more often than
# this, so that tokens with made-up key ids cannot make us hammer the JWKS endpoint.
MIN_REFETCH_SECONDS = 60.0
# The identities table's column; a longer subject is refused, never truncated (two
# subjects sharing a prefix must not become one person).
MAX_SUBJECT_LENGTH = 255
_MAX_NAME = 200
_MAX_PICTURE = 2048
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class KeyFetcher(Protocol):
    """Fetches a JWKS document (an operator-configured URL) through the outbound policy."""

    async def fetch(self, url: str) -> bytes:
        """The raw bytes at `url`; core error kinds on failure."""
        ...


class IdTokenInvalid(Unauthenticated):
    """The ID token is malformed, forged, expired, or not meant for us."""

    default_code = "id_token_invalid"

    def __init__(self, message: str = "Invalid ID token", *, code: str | None = None) -> None:
        super().__init__(message, code=code)


class IssuerNotConfigured(Unauthenticated):
    """The issuer has no audience (client id) configured: no token can verify."""

    default_code = "issuer_not_configured"


class JwksUnavailable(UpstreamUnavailable):
    """The issuer's signing keys could not be fetched or read: our outage, not the token's."""

    default_code = "jwks_unavailable"


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One external issuer as the operator configured it."""

    # How settings, auth schemes and error codes name it ("google", "oidc").
    name: str
    # The `iss` values accepted.
    issuers: tuple[str, ...]
    # Our client id at the issuer; None means "not configured": every token is refused.
    audience: str | None
    jwks_url: str
    # How messages name it ("Invalid Google ID token").
    label: str = "OIDC"
    algorithms: tuple[str, ...] = ("RS256",)
    clock_skew_seconds: int = 0
    cache_seconds: float = DEFAULT_CACHE_SECONDS
    # Refuse tokens without a verified e-mail (Google sign-in has always needed one).
    require_email: bool = False
    # Domains whose addresses this issuer owns: its verified e-mail there proves who
    # holds an existing account with that address (see `vouches_for_email`).
    email_domains: frozenset[str] = field(default_factory=frozenset)
    # A claim naming a hosted domain the issuer also owns (Google's `hd`), or None.
    hosted_domain_claim: str | None = None
    # What identities are stored under; None means the first of `issuers`.
    canonical_issuer: str | None = None

    def __post_init__(self) -> None:
        unsupported = set(self.algorithms) - set(SUPPORTED_ALGORITHMS)
        if not self.algorithms or unsupported:
            raise ValueError(f"issuer {self.name}: algorithms must be among RS256, ES256")
        if not self.issuers:
            raise ValueError(f"issuer {self.name}: at least one `iss` value is needed")
        # Domains compare in the normalised form stored e-mails have.
        domains = frozenset(lookup_email(d) for d in self.email_domains if d.strip())
        object.__setattr__(self, "email_domains", domains)

    @property
    def configured(self) -> bool:
        """True when tokens can verify (an audience is set)."""
        return bool(self.audience)

    @property
    def issuer(self) -> str:
        """The issuer identities are stored under, whichever accepted form a token used."""
        return self.canonical_issuer or self.issuers[0]

    def vouches_for(self, identity: IdTokenIdentity) -> bool:
        """True when this issuer owns the domain of the identity's verified e-mail, so the
        e-mail proves who holds an existing account with that address."""
        return vouches_for_email(
            identity.email, owned_domains=self.email_domains, hosted_domain=identity.hosted_domain
        )


def vouches_for_email(
    email: str | None, *, owned_domains: frozenset[str], hosted_domain: str | None
) -> bool:
    """The one rule, for every issuer, of when its verified e-mail may link a new subject to
    the existing account with that address: the issuer must be authoritative for the
    address, because its domain is one the issuer owns (Google: gmail.com, googlemail.com
    and `SWITCHBOARD_GOOGLE_EMAIL_DOMAINS`; an OIDC tenant: `SWITCHBOARD_OIDC_EMAIL_DOMAINS`)
    or the hosted domain the token asserts (Google's `hd`). Anyone can create an account
    at Google or a tenant with a verified address elsewhere, which proves only that the
    mailbox once received a mail, not that its holder is our account's owner.

    An address that normalisation would change beyond ASCII letter case is never vouched
    for: the issuer verified *that* string, not the account's normalised address."""
    if email is None or not is_canonical_email(email):
        return False
    domain = email_domain(email)
    if domain in owned_domains:
        return True
    return hosted_domain is not None and hosted_domain == domain


@dataclass(frozen=True, slots=True)
class IdTokenIdentity:
    """The verified claims of an ID token that sign-in needs."""

    issuer: str
    subject: str
    # Only when the issuer says it verified it.
    email: str | None
    name: str | None = None
    picture: str | None = None
    # The hosted domain the issuer vouches for (Google's `hd`), when the issuer has one.
    hosted_domain: str | None = None
    # The token's `exp` (seconds since the epoch).
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class _Key:
    algorithm: str
    jwk: jwt.PyJWK


def unverified_issuer(token: str) -> str | None:
    """The `iss` claim of a JWT, read WITHOUT verifying anything: only to pick a verifier."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


class IdTokenVerifier:
    """Verifies one issuer's ID tokens against its cached JWKS (shared by the process)."""

    def __init__(
        self,
        config: IssuerConfig,
        fetcher: KeyFetcher,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._fetcher = fetcher
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        # When the keys were last fetched successfully (on `clock`), or None.
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        """The issuer's configured name."""
        return self.config.name

    @property
    def configured(self) -> bool:
        """True when an audience is set (otherwise every token is refused)."""
        return self.config.configured

    def recognizes(self, token: str) -> bool:
        """True when `token` claims to come from this issuer (nothing verified yet)."""
        return self.configured and unverified_issuer(token) in self.config.issuers

    async def verify(self, token: str) -> IdTokenIdentity:
        """The identity in a valid ID token; `IdTokenInvalid` otherwise."""
        if not self.configured:
            raise IssuerNotConfigured(
                f"{self.config.label} sign-in is not configured on this server",
                code=f"{self.name}_not_configured",
            )
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise self._invalid()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise self._invalid() from None
        algorithm, kid = header.get("alg"), header.get("kid")
        # Pinned before any key lookup: `alg: none` and HS/RS confusion never get further.
        if algorithm not in self.config.algorithms or not isinstance(kid, str) or not kid:
            raise self._invalid()
        key = await self._key(kid)
        if key.algorithm != algorithm:
            raise self._invalid()
        return self._identity(self._decode(token, key))

    def _decode(self, token: str, key: _Key) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.jwk,
                algorithms=[key.algorithm],
                audience=self.config.audience,
                issuer=list(self.config.issuers),
                leeway=self.config.clock_skew_seconds,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise self._invalid(f"{self.config.label} ID token has expired") from None
        except jwt.InvalidTokenError:
            raise self._invalid() from None
        return claims

    def _identity(self, claims: Mapping[str, Any]) -> IdTokenIdentity:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_LENGTH:
            raise self._invalid(f"{self.config.label} ID token lacks a valid subject")
        email = self._verified_email(claims)
        hosted = None
        if self.config.hosted_domain_claim is not None:
            value = claims.get(self.config.hosted_domain_claim)
            # Normalised as e-mail domains are; a value that is no domain vouches for nothing.
            if isinstance(value, str) and value and "@" not in value:
                hosted = lookup_email(value)
        return IdTokenIdentity(
            issuer=self.config.issuer,
            subject=sub,
            email=email,
            name=_text(claims.get("name"), _MAX_NAME),
            picture=_text(claims.get("picture"), _MAX_PICTURE),
            hosted_domain=hosted,
            expires_at=float(claims["exp"]),
        )

    def _verified_email(self, claims: Mapping[str, Any]) -> str | None:
        email = claims.get("email")
        present = isinstance(email, str) and _is_email(email)
        if self.config.require_email and not present:
            raise self._invalid(f"{self.config.label} ID token lacks a subject or an email")
        # Issuers send a boolean; some older Google tokens carried the string "true".
        verified = claims.get("email_verified") in (True, "true")
        if self.config.require_email and not verified:
            raise self._invalid(f"{self.config.label} account email is not verified")
        return email.strip() if present and verified and isinstance(email, str) else None

    def _invalid(self, message: str | None = None) -> IdTokenInvalid:
        return IdTokenInvalid(
            message or f"Invalid {self.config.label} ID token", code=f"{self.name}_token_invalid"
        )

    async def _key(self, kid: str) -> _Key:
        if self._fresh() and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # Another request may have refreshed the keys while this one waited.
            if not (self._fresh() and kid in self._keys) and self._may_refetch():
                self._keys = await self._fetch_keys()
                self._fetched_at = self._clock()
        key = self._keys.get(kid)
        if key is None:
            raise self._invalid()
        return key

    def _age(self) -> float | None:
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    def _fresh(self) -> bool:
        age = self._age()
        return age is not None and age < self.config.cache_seconds

    def _may_refetch(self) -> bool:
        age = self._age()
        return age is None or not self._keys or age >= MIN_REFETCH_SECONDS

    async def _fetch_keys(self) -> dict[str, _Key]:
        try:
            raw = await self._fetcher.fetch(self.config.jwks_url)
            document = json.loads(raw)
        except (SwitchboardError, ValueError) as exc:
            # Whatever the fetch hit (refused URL, timeout, 5xx), it is our outage, never
            # the token's fault: it must not read as "invalid token".
            raise self._unavailable() from exc
        entries = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str, _Key] = {}
        for entry in entries if isinstance(entries, list) else []:
            key = self._usable_key(entry)
            if key is not None:
                keys[entry["kid"]] = key
        if not keys:
            raise self._unavailable()
        return keys

    def _usable_key(self, entry: object) -> _Key | None:
        """The key of one JWKS entry, bound to the one algorithm its shape allows."""
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            return None
        if entry.get("use", "sig") != "sig":
            return None
        for algorithm in self.config.algorithms:
            kty, crv = _KEY_SHAPES[algorithm]
            if entry.get("kty") != kty or (crv is not None and entry.get("crv") != crv):
                continue
            if entry.get("alg", algorithm) != algorithm:
                continue
            try:
                return _Key(algorithm, jwt.PyJWK(entry, algorithm=algorithm))
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                return None  # one unusable key must not hide the others
        return None

    def _unavailable(self) -> JwksUnavailable:
        return JwksUnavailable(
            f"{self.config.label}'s signing keys are unavailable; try again shortly"
        )


def _is_email(value: str) -> bool:
    try:
        normalize_email(value)
    except InvalidEmail:
        return False
    return True


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
