"""Who may call the native face: switchboard's bearer credentials; on the event stream
and Socket.IO also `?token=` (EventSource and some socket clients cannot set headers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from switchboard.api.auth import AuthChain, Bearer, QueryToken
from switchboard.core.accounts.principal import Principal

STREAMS = AuthChain(Bearer(), QueryToken())

StreamPrincipalDep = Annotated[Principal, Depends(STREAMS.require)]
