"""A fake OIDC tenant for the accounts tests: RSA and EC keys, a JWKS served through a
`KeyFetcher` that counts its fetches, and tokens signed like an Auth0-style issuer's."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from switchboard.core.errors import UpstreamUnavailable
from tests.fixtures.upstreams.jwks_fake import new_rsa_key

ISSUER = "https://tenant.example.com/"
AUDIENCE = "https://api.switchboard.test"
JWKS_URL = "https://tenant.example.com/.well-known/jwks.json"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class Tenant:
    """An issuer's key set, served through a fake `KeyFetcher` that counts its fetches."""

    keys: dict[str, tuple[str, PrivateKey]] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    fetches: int = 0
    down: bool = False
    extra_entries: list[Any] = field(default_factory=list)  # anything, even not a key

    def add(self, algorithm: str = "RS256", *, publish: bool = True) -> str:
        kid = uuid.uuid4().hex[:12]
        key: PrivateKey = (
            new_rsa_key() if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (algorithm, key)
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict[str, Any]:
        entries = []
        for kid in self.published:
            algorithm, key = self.keys[kid]
            if isinstance(key, rsa.RSAPrivateKey):
                entry = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            else:
                entry = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            entries.append({**entry, "kid": kid, "alg": algorithm, "use": "sig"})
        return {"keys": [*self.extra_entries, *entries]}

    async def fetch(self, url: str) -> bytes:
        assert url == JWKS_URL
        self.fetches += 1
        if self.down:
            raise UpstreamUnavailable("JWKS down")
        return json.dumps(self.jwks()).encode()

    def sign(self, kid: str | None = None, *, alg: str | None = None, **overrides: Any) -> str:
        kid = kid or self.published[0]
        algorithm, key = self.keys[kid]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "auth0|abc123",
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg or algorithm, headers={"kid": kid})
