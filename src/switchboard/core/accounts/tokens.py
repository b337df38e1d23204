"""Access tokens: short-lived HS256 JWTs signed with the operator's secret(s).

The first secret signs; every secret verifies, so an operator rotates by putting the new
secret first and removing the old one after the longest access-token lifetime.
Each operator secret is turned into a dedicated signing key with HMAC-SHA256, because the
same `SWITCHBOARD_SECRET_KEY` also encrypts stored provider keys: one raw secret is
never used directly for two purposes.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from switchboard.core.accounts.errors import TokenExpired, TokenInvalid
from switchboard.kit.clock import utcnow

ALGORITHM = "HS256"
ISSUER = "switchboard"
ACCESS_TYPE = "access"
DEFAULT_ACCESS_TTL_SECONDS = 3600
# A shorter operator secret could be brute-forced offline from any token it signed.
MIN_SECRET_LENGTH = 32
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "sid", "typ", "jti", "ver")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly signed access token and the moments it is valid between."""

    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified contents of an access token."""

    user_id: str
    session_id: str
    token_version: int
    jti: str
    issued_at: datetime
    expires_at: datetime


def derive_signing_key(secret: str) -> bytes:
    """The HS256 key derived from one operator secret."""
    return hmac.new(secret.encode(), b"switchboard:access-token:v1", hashlib.sha256).digest()


class TokenSigner:
    """Signs and verifies access tokens with a fixed algorithm and a list of secrets."""

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        ttl_seconds: int = DEFAULT_ACCESS_TTL_SECONDS,
        leeway_seconds: int = 0,
    ) -> None:
        if not secrets:
            raise ValueError("TokenSigner needs at least one secret")
        if any(len(secret) < MIN_SECRET_LENGTH for secret in secrets):
            raise ValueError(f"every token secret must be at least {MIN_SECRET_LENGTH} chars")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._keys = [derive_signing_key(secret) for secret in secrets]
        self.ttl_seconds = ttl_seconds
        self._leeway = leeway_seconds

    def issue(
        self,
        *,
        user_id: str,
        session_id: str,
        token_version: int,
        ttl_seconds: int | None = None,
        now: datetime | None = None,
    ) -> IssuedToken:
        """A signed access token for one user and session."""
        # JWT times are whole seconds; truncate so expires_at matches the `exp` claim.
        issued_at = (now or utcnow()).replace(microsecond=0)
        expires_at = issued_at + timedelta(seconds=ttl_seconds or self.ttl_seconds)
        jti = uuid.uuid4().hex
        claims = {
            "iss": ISSUER,
            "sub": user_id,
            "sid": session_id,
            "typ": ACCESS_TYPE,
            "ver": token_version,
            "jti": jti,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(claims, self._keys[0], algorithm=ALGORITHM)
        return IssuedToken(token=token, jti=jti, issued_at=issued_at, expires_at=expires_at)

    def decode(self, token: str) -> AccessClaims:
        """The claims of a valid access token; `TokenExpired` or `TokenInvalid` otherwise."""
        payload = self._verified_payload(token)
        return _claims_from(payload)

    def _verified_payload(self, token: str) -> dict[str, Any]:
        for key in self._keys:
            try:
                return jwt.decode(
                    token,
                    key,
                    # Pinned: never let the token's own header choose (alg "none", HS/RS mixups).
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    leeway=self._leeway,
                    options={"require": list(REQUIRED_CLAIMS)},
                )
            except jwt.InvalidSignatureError:
                continue  # signed with another of our keys, perhaps: try the next one
            except jwt.ExpiredSignatureError as exc:
                # PyJWT checks the signature before `exp`, so this token really was ours.
                raise TokenExpired() from exc
            except jwt.InvalidTokenError as exc:
                raise TokenInvalid() from exc
        raise TokenInvalid()


def _claims_from(payload: dict[str, Any]) -> AccessClaims:
    sub, sid, typ, ver = payload["sub"], payload["sid"], payload["typ"], payload["ver"]
    if typ != ACCESS_TYPE:
        raise TokenInvalid()
    if not isinstance(sub, str) or not isinstance(sid, str) or not sub or not sid:
        raise TokenInvalid()
    # bool is an int subclass; a token carrying `"ver": true` is not one we issued.
    if not isinstance(ver, int) or isinstance(ver, bool):
        raise TokenInvalid()
    return AccessClaims(
        user_id=sub,
        session_id=sid,
        token_version=ver,
        jti=str(payload["jti"]),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )
