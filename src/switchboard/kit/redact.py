"""Reasons fit for a log line: no credentials, no query strings, bounded length.

Failure reasons are switchboard's own words (adapters never quote an upstream), so this
is the second line of defence: whatever a message might carry by mistake, a URL's user
and password, its query string (tokens travel there), a bearer token or a provider key
of a known shape, is cut before the line is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_REASON = 300
REDACTED = "[redacted]"

# scheme://user:pass@host/path?query#fragment -> scheme://host/path
_URL = re.compile(r"\b([a-z][a-z0-9+.\-]*://)(?:[^\s/@]*@)?([^\s?#]*)(?:[?#]\S*)?", re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# Provider keys of known shapes: OpenAI/Anthropic/OpenRouter (sk-...), Google (AIza...),
# Groq (gsk_...), Hugging Face (hf_...), xAI (xai-...).
_KEY = re.compile(r"\b(?:sk-|gsk_|hf_|xai-|AIza)[A-Za-z0-9_\-]{8,}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without credentials: each of `secrets` (keys known to the caller), URL
    user-info and query strings, bearer tokens and key-shaped words; at most
    `MAX_REASON` characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _URL.sub(r"\1\2", text)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    text = _KEY.sub(REDACTED, text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
