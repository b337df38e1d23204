"""Who is calling: the one shape every face's authentication produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

AuthMethod: TypeAlias = Literal[
    "access_token", "api_key", "master_token", "local", "session_cookie", "id_token"
]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    `scopes` is None for full access (a signed-in user); an API key carries the exact set
    it was created with. `is_admin` is already narrowed by the credential: an API key
    without the `admin` scope never acts as an admin, even for an admin's account.
    """

    user_id: str
    email: str
    is_admin: bool = False
    is_owner: bool = False
    scopes: frozenset[str] | None = None
    api_key_id: str | None = None
    session_id: str | None = None
    auth_method: AuthMethod = "access_token"

    def has_scope(self, scope: str) -> bool:
        """True when this credential may be used for `scope`."""
        return self.scopes is None or scope in self.scopes
