"""How PocketLLM callers authenticate: our access tokens and API keys as bearer tokens,
the document's only credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from switchboard.api.auth import BEARER
from switchboard.core.accounts.principal import Principal

AUTH = BEARER
PrincipalDep = Annotated[Principal, Depends(AUTH.require)]
