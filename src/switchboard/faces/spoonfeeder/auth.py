"""Who is calling a Spoon Feeder route.

The original had no authentication: every client was its one user. Here a loopback
client without credentials acts as the owner while local trust allows it (the original's
behaviour on a laptop); everyone else signs in like on any face: a switchboard access
token (from any face's sign-in) or an API key, as a Bearer token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from switchboard.api.auth import AuthChain, Bearer, LocalTrust
from switchboard.core.accounts.principal import Principal

# What this face stores (tasks, chats, usage) records it came from here.
SOURCE = "spoonfeeder"

CHAIN = AuthChain(
    Bearer(),
    LocalTrust(),
    missing="Authentication required",
)

PrincipalDep = Annotated[Principal, Depends(CHAIN.require)]


def acts_as_operator(principal: Principal) -> bool:
    """Whether this caller's URLs are trusted like the operator's (loopback and private
    addresses allowed): the owner on the machine itself, under local trust, whose own
    Ollama and ComfyUI live on `localhost`. Everyone else goes through the outbound policy.
    """
    return principal.is_owner and principal.auth_method == "local"
