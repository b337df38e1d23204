"""How OpenAI clients authenticate: an API key or an access token as a bearer token, the
one credential OpenAI's SDKs send."""

from __future__ import annotations

from switchboard.api.auth import BEARER

AUTH = BEARER
