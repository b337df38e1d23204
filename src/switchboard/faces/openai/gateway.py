"""What the face's routes share: its name, its admission and the lean routes' opening.

The routes with a body (chat, embeddings, images) are lean routes (`api.bodies`), opened
by `gateway_call` (`api.lean`): the endpoint finds its unit of work and caller with
`opened(request)`.
"""

from __future__ import annotations

from switchboard.api.admission import Admission
from switchboard.api.auth import require_principal
from switchboard.api.bodies import Prelude
from switchboard.api.lean import Opened, lean_call
from switchboard.core.conversations.completions import Caller

SOURCE = "openai"
# Rate counters of this face's traffic (Admit's `group`).
GROUP = "openai"


def caller(call: Opened) -> Caller:
    """The lean route's caller, for usage records."""
    return Caller(
        user_id=call.principal.user_id, source=SOURCE, api_key_id=call.principal.api_key_id
    )


def admission(scope: str) -> Admission:
    """A lean route's admission: `scope`, counted against the default rate per user."""
    return Admission(scope=scope, rule="default", group=GROUP)


def gateway_call(admitted: Admission) -> Prelude:
    """The opening of a lean route admitted by `admitted` (see the module docstring)."""
    return lean_call(require_principal, admitted)
