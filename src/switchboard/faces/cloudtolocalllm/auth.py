"""Who is calling a CloudToLocalLLM route.

The document's clients send `Authorization: Bearer <JWT>` from an Auth0-style tenant.
Such a token is taken when the operator configured that issuer (`SWITCHBOARD_OIDC_*`,
`IdToken("oidc")`: the account linked to it is made on first sight); any other bearer
credential is one of switchboard's own (an access token from any face's sign-in, or an
API key). The original asked every client for a token and had no local bypass, so there
is none here either.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from switchboard.api.auth import AuthChain, Bearer
from switchboard.api.oidc import IdToken
from switchboard.core.accounts.principal import Principal

# What this face stores and counts (rate-limit group) records it came from here.
SOURCE = "cloudtolocalllm"

CHAIN = AuthChain(
    IdToken("oidc"),
    Bearer(),
    # The original's words when no token is sent.
    missing="Access token required",
)

PrincipalDep = Annotated[Principal, Depends(CHAIN.require)]
