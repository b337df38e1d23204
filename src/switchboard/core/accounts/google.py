"""Google sign-in: verifying Google ID tokens and linking them to switchboard accounts.

An ID token is accepted only when it is an RS256 JWT signed by a key of the configured
JWKS (fetched through the `KeyFetcher` port and cached), issued by one of the configured
issuers, for our client id (the audience), unexpired, and for a verified email address
(SECURITY.md rule 6). The header never chooses the algorithm: `none`, HS256 and anything
else are refused before any key is looked at.

A verified identity is linked to an account by Google subject first, then by email (an
existing account with that email takes the Google subject), or a new account is made.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.accounts.errors import AccountDisabled
from switchboard.core.accounts.schemas import TokenPair, UserCreate, UserRead
from switchboard.core.accounts.service import AccountService, to_user_read
from switchboard.core.errors import SwitchboardError, Unauthenticated, UpstreamUnavailable
from switchboard.models import User

ALGORITHM = "RS256"
# The pm_session cookie (a switchboard access token) lives as long as PluginMind's did.
SESSION_TTL_SECONDS = 24 * 3600
MAX_TOKEN_LENGTH = 8192
DEFAULT_CACHE_SECONDS = 3600.0
# An unknown `kid` may mean Google rotated its keys; refetch, but not more often than this,
# so that tokens with made-up key ids cannot make us hammer the JWKS endpoint.
MIN_REFETCH_SECONDS = 30.0
_MAX_PROFILE = 200


class KeyFetcher(Protocol):
    """Fetches the JWKS document (an operator-configured URL) through the outbound policy."""

    async def fetch(self, url: str) -> bytes:
        """The raw bytes at `url`; core error kinds on failure."""
        ...


class GoogleTokenInvalid(Unauthenticated):
    """The Google ID token is malformed, forged, expired, or not meant for us."""

    default_code = "google_token_invalid"

    def __init__(self, message: str = "Invalid Google ID token") -> None:
        super().__init__(message)


class GoogleNotConfigured(Unauthenticated):
    """Google sign-in needs SWITCHBOARD_GOOGLE_CLIENT_ID; without it no token can verify."""

    default_code = "google_not_configured"

    def __init__(self) -> None:
        super().__init__("Google sign-in is not configured on this server")


class GoogleKeysUnavailable(UpstreamUnavailable):
    """Google's signing keys could not be fetched or read."""

    default_code = "jwks_unavailable"

    def __init__(self) -> None:
        super().__init__("Google's signing keys are unavailable; try again shortly")


class GoogleAccountConflict(Unauthenticated):
    """The email belongs to an account already linked to another Google account."""

    default_code = "google_account_conflict"

    def __init__(self) -> None:
        super().__init__("This email is linked to a different Google account")


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    """The verified claims of a Google ID token."""

    sub: str
    email: str
    name: str | None = None
    picture: str | None = None


class GoogleVerifier:
    """Verifies Google ID tokens against a cached JWKS (shared by the whole process)."""

    def __init__(
        self,
        fetcher: KeyFetcher,
        *,
        client_id: str | None,
        jwks_url: str,
        issuers: Sequence[str],
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        leeway_seconds: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetcher = fetcher
        self._client_id = client_id
        self._jwks_url = jwks_url
        self._issuers = list(issuers)
        self._cache_seconds = cache_seconds
        self._leeway = leeway_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        """True when a client id is set (otherwise every token is refused)."""
        return bool(self._client_id)

    async def verify(self, token: str) -> GoogleIdentity:
        """The identity in a valid Google ID token; `GoogleTokenInvalid` otherwise."""
        if not self._client_id:
            raise GoogleNotConfigured()
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise GoogleTokenInvalid()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise GoogleTokenInvalid() from None
        # Pinned before any key lookup: `alg: none` and HS/RS confusion never get further.
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            raise GoogleTokenInvalid()
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._client_id,
                issuer=self._issuers,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise GoogleTokenInvalid("Google ID token has expired") from None
        except jwt.InvalidTokenError:
            raise GoogleTokenInvalid() from None
        return _identity(claims)

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        fresh = self._fetched_at is not None and now - self._fetched_at < self._cache_seconds
        if fresh and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # Another request may have refreshed the keys while this one waited.
            age = None if self._fetched_at is None else now - self._fetched_at
            if age is not None and age < self._cache_seconds and kid in self._keys:
                return self._keys[kid]
            if age is None or age >= MIN_REFETCH_SECONDS or not self._keys:
                self._keys = await self._fetch_keys()
                self._fetched_at = self._clock()
        key = self._keys.get(kid)
        if key is None:
            raise GoogleTokenInvalid()
        return key

    async def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        try:
            raw = await self._fetcher.fetch(self._jwks_url)
            document = json.loads(raw)
        except (SwitchboardError, ValueError) as exc:
            # Whatever the fetch hit (refused URL, timeout, 5xx), it is our outage, never
            # the token's fault: it must not read as "invalid token".
            raise GoogleKeysUnavailable() from exc
        keys: dict[str, jwt.PyJWK] = {}
        entries = document.get("keys") if isinstance(document, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str):
                continue
            try:
                keys[kid] = jwt.PyJWK(entry, algorithm=ALGORITHM)
            except jwt.PyJWKError:
                continue  # one unusable key must not hide the others
        if not keys:
            raise GoogleKeysUnavailable()
        return keys


def _identity(claims: dict[str, Any]) -> GoogleIdentity:
    sub, email = claims.get("sub"), claims.get("email")
    if not isinstance(sub, str) or not sub or not isinstance(email, str) or "@" not in email:
        raise GoogleTokenInvalid("Google ID token lacks a subject or an email")
    # Google sends a boolean; some older tokens carried the string "true".
    if claims.get("email_verified") not in (True, "true"):
        raise GoogleTokenInvalid("Google account email is not verified")
    name, picture = claims.get("name"), claims.get("picture")
    return GoogleIdentity(
        sub=sub[:255],
        email=email,
        name=name[:_MAX_PROFILE] if isinstance(name, str) and name else None,
        picture=picture[:2048] if isinstance(picture, str) and picture else None,
    )


@dataclass(frozen=True, slots=True)
class GoogleSession:
    """A completed Google sign-in: the account, its new session and the Google profile."""

    user: UserRead
    tokens: TokenPair
    identity: GoogleIdentity


class GoogleSignIn:
    """Signs users in with Google ID tokens, inside the caller's unit of work.

    `accounts` must issue access tokens that live as long as the session cookie.
    """

    def __init__(
        self, session: AsyncSession, verifier: GoogleVerifier, accounts: AccountService
    ) -> None:
        self._session = session
        self._verifier = verifier
        self._accounts = accounts

    async def verify(self, id_token: str) -> GoogleIdentity:
        """Verify a Google ID token without touching any account."""
        return await self._verifier.verify(id_token)

    async def sign_in(self, id_token: str, *, user_agent: str | None = None) -> GoogleSession:
        """Verify the token, link or create the account and start a session for it."""
        identity = await self._verifier.verify(id_token)
        user = await self._link(identity)
        if not user.is_active:
            raise AccountDisabled()
        tokens = await self._accounts.start_session(user.id, user_agent=user_agent)
        return GoogleSession(to_user_read(user), tokens, identity)

    async def linked_subject(self, user_id: str) -> str | None:
        """The Google subject linked to the user's account, if any."""
        stmt = select(User.google_sub).where(User.id == user_id)
        return await self._session.scalar(stmt)

    async def _link(self, identity: GoogleIdentity) -> User:
        by_sub = await self._session.scalar(select(User).where(User.google_sub == identity.sub))
        if by_sub is not None:
            return by_sub
        existing = await self._accounts.get_user_by_email(identity.email)
        if existing is None:
            created = await self._accounts.create_user(
                UserCreate(
                    email=identity.email, full_name=identity.name, avatar_url=identity.picture
                )
            )
            user = await self._session.get(User, created.id)
        else:
            user = await self._session.get(User, existing.id)
        assert user is not None
        if user.google_sub is not None and user.google_sub != identity.sub:
            raise GoogleAccountConflict()
        # Google vouches for the address (email_verified), so the account is theirs.
        user.google_sub = identity.sub
        if identity.name and not user.full_name:
            user.full_name = identity.name
        if identity.picture and not user.avatar_url:
            user.avatar_url = identity.picture
        await self._session.flush()
        return user
