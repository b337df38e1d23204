"""Who is calling a PluginMind route: switchboard's bearer, or the `pm_session` cookie.

The cookie holds a switchboard access token for a 24-hour session, so a PluginMind
sign-in is an ordinary switchboard session: the same account, revocable, and usable as
a bearer token on every other face. Switchboard's own bearer credentials (API keys,
access tokens from any face) are accepted here too, and win when both are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from switchboard.api.admission import Admit, KeyBy
from switchboard.api.auth import AuthChain, Bearer, Cookie, CookieMessages
from switchboard.core.accounts.principal import Principal

COOKIE = "pm_session"
# Usage, query logs and jobs record the face they came from.
SOURCE = "pluginmind"
# The cookie lives as long as the original's session (24 h); the session's access token
# is issued for as long (core/accounts: the Google sign-in's token lifetime).
SESSION_MAX_AGE_SECONDS = 24 * 3600

CHAIN = AuthChain(
    Bearer(),
    Cookie(COOKIE, CookieMessages(expired="Session expired", invalid="Invalid session token")),
    missing="Authentication required. Please sign in.",
    missing_code="session_required",
)

SessionDep = Annotated[Principal, Depends(CHAIN.require)]

# The named rate of analyses and sign-ins (SWITCHBOARD_PLUGINMIND_RATE_LIMIT); its
# counters are the face's own.
RULE = "pluginmind"
# Analyses run a model: an API key needs `chat`. Counted per user.
ANALYSES = Admit(CHAIN, scope="chat", rule=RULE, key=KeyBy.USER_OR_IP, group=SOURCE)
# The routes the original did not limit. Account and session routes name no scope, so
# they take signed-in sessions only (the cookie, or a switchboard access token).
SIGNED_IN = Admit(CHAIN, rule=None)
JOBS = Admit(CHAIN, scope="jobs", rule=None)
USAGE = Admit(CHAIN, scope="usage", rule=None)
# The analysis services' live provider health: administrators only.
ADMIN = Admit(CHAIN, scope="admin", rule=None)
# Sign-in: per address, whatever cookie the browser still sends (an expired one must
# not stop a new sign-in).
SIGN_IN = Admit(None, rule=RULE, group=SOURCE)
# Health and meta, and the Google token check: open to anyone, not limited (as before).
PUBLIC = Admit(None, rule=None)


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How the session cookie is set: `secure=None` means "when the request is HTTPS"."""

    secure: bool | None = None
    domain: str | None = None

    def is_secure(self, request: Request) -> bool:
        """Whether to mark the cookie Secure for this request.

        The request's scheme is the client's: X-Forwarded-Proto is believed only from
        SWITCHBOARD_TRUSTED_PROXIES; operators behind other proxies set
        SWITCHBOARD_PLUGINMIND_COOKIE_SECURE.
        """
        return self.secure if self.secure is not None else request.url.scheme == "https"

    def set(self, response: Response, request: Request, token: str) -> None:
        """Set `pm_session`: HttpOnly, SameSite=Lax, Path=/, 24 hours."""
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_MAX_AGE_SECONDS,
            path="/",
            domain=self.domain,
            secure=self.is_secure(request),
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, request: Request) -> None:
        """Expire `pm_session` (Max-Age=0) with the attributes it was set with."""
        response.delete_cookie(
            COOKIE,
            path="/",
            domain=self.domain,
            secure=self.is_secure(request),
            httponly=True,
            samesite="lax",
        )
