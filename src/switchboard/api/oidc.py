"""`IdToken`: an auth-chain scheme for JWTs signed by a configured external issuer.

A face whose clients sign in elsewhere (an Auth0-style tenant, Google) puts
`IdToken("oidc")` before `Bearer()` in its chain. The token's `iss` claim, read without
verifying, says whether it is the issuer's: if not (one of our own access tokens, an API
key, another issuer's token) the scheme steps aside; if so, it is verified with that
issuer's keys and decides: the linked account (made on first sight, see
`core.accounts.identities`), `Unauthenticated` (a 401 whose challenge says
`invalid_token`), or a 409 when the token's e-mail belongs to an account the issuer is
not authoritative for (`LinkRequired`) or whose link would be replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from switchboard.api.auth import Handshake, bearer_token, clean_token
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services


@dataclass(frozen=True, slots=True)
class IdToken:
    """`Authorization: Bearer <JWT of the issuer>`; on Socket.IO, also `auth: {token}`."""

    # The issuer's name in `AppContext.issuers` ("oidc", "google").
    verifier_name: str

    async def authenticate(self, handshake: Handshake, services: Services) -> Principal | None:
        """The account linked to the issuer's token, if the credential is one."""
        token = bearer_token(handshake.connection)
        if token is None and isinstance(handshake.socketio_auth, Mapping):
            token = clean_token(handshake.socketio_auth.get("token"))
        verifier = services.ctx.issuers.get(self.verifier_name)
        if token is None or verifier is None or not verifier.recognizes(token):
            return None
        return await services.identities.principal(self.verifier_name, token)
