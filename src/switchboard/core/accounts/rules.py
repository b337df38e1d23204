"""Pure account rules: email shape, password length, API key scopes and key format."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from collections.abc import Iterable

from switchboard.core.accounts.errors import (
    InvalidApiKeyRequest,
    InvalidEmail,
    ScopeNotAllowed,
    UnknownScope,
    WeakPassword,
)
from switchboard.core.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from switchboard.core.accounts.principal import Principal

# Deliberately loose: faces validate email syntax to their documents; the core only needs
# one "@", no whitespace, sane lengths. `owner@localhost` must pass.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MAX_EMAIL_LENGTH = 320

ADMIN_SCOPE = "admin"
# What an API key needs to follow live events (event streams and Socket.IO, any face).
EVENTS_SCOPE = "events"
# What an API key may be given. A route names the one scope it needs; a route that names
# none (account and credential management) takes signed-in sessions only.
KNOWN_SCOPES: tuple[str, ...] = (
    "chat",
    "models",
    "embeddings",
    "images",
    "jobs",
    EVENTS_SCOPE,
    "usage",
    ADMIN_SCOPE,
)
# A key made without explicit scopes gets everything except admin.
DEFAULT_SCOPES: tuple[str, ...] = tuple(s for s in KNOWN_SCOPES if s != ADMIN_SCOPE)

API_KEY_MARK = "sb-"
PREFIX_LENGTH = 12
# Lower-case letters and digits only, so the `_` after the prefix is unambiguous.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_API_KEY = re.compile(rf"sb-([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{20,128}})")


def lookup_email(raw: str) -> str:
    """The stored form of an email, without judging its shape: trimmed, NFKC-normalised
    and case-folded, so that full-width and compatibility forms (full-width `admin@...`,
    `ß` and `ss`) and every letter case are one address. Every account lookup and every new account
    goes through this (sign-up, sign-in, ID tokens, the owner), and migration
    4b8d0f2c6e31 brought the stored rows to it."""
    # NFKC again after case folding: folding can leave compatibility forms behind.
    folded = unicodedata.normalize("NFKC", raw).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def is_canonical_email(raw: str) -> bool:
    """True when normalising `raw` changes at most its ASCII letter case and surrounding
    space: the address an issuer verified is then the very address it normalises to."""
    return lookup_email(raw) == raw.strip().lower()


def email_domain(email: str) -> str:
    """The normalised domain of an email (after its last `@`)."""
    return lookup_email(email).rpartition("@")[2]


def normalize_email(raw: str) -> str:
    """The stored form of a new email; `InvalidEmail` when it is not shaped like one."""
    email = lookup_email(raw)
    if len(email) > MAX_EMAIL_LENGTH or not email.isprintable() or not _EMAIL.fullmatch(email):
        raise InvalidEmail(param="email")
    return email


def check_password(password: str) -> None:
    """`WeakPassword` unless the length is within bounds."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(param="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"Password must be at most {MAX_PASSWORD_LENGTH} characters", param="password"
        )


def resolve_scopes(
    creator: Principal, requested: Iterable[str] | None, *, creator_is_admin: bool
) -> list[str]:
    """The scopes of a new key: known, non-empty, and a subset of what the creator holds."""
    if requested is None:
        wanted = set(DEFAULT_SCOPES)
        if creator.scopes is not None:
            wanted &= creator.scopes
    else:
        wanted = set(requested)
    unknown = sorted(wanted.difference(KNOWN_SCOPES))
    if unknown:
        raise UnknownScope(f"Unknown API key scope: {unknown[0][:64]}", param="scopes")
    if not wanted:
        raise InvalidApiKeyRequest("An API key needs at least one scope", param="scopes")
    if ADMIN_SCOPE in wanted and not (creator.is_admin and creator_is_admin):
        raise ScopeNotAllowed("Only admins can create keys with the admin scope", param="scopes")
    if creator.scopes is not None and not wanted <= creator.scopes:
        raise ScopeNotAllowed(param="scopes")
    return [scope for scope in KNOWN_SCOPES if scope in wanted]


def new_prefix() -> str:
    """A random public key prefix (about 62 bits)."""
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def format_api_key(prefix: str, secret: str) -> str:
    """The key as the user copies it: `sb-<prefix>_<secret>`."""
    return f"{API_KEY_MARK}{prefix}_{secret}"


def parse_api_key(raw: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, or None."""
    match = _API_KEY.fullmatch(raw)
    return None if match is None else (match.group(1), match.group(2))


def looks_like_api_key(raw: str) -> bool:
    """True when a bearer credential has our API key shape (to pick the verifier)."""
    return raw.startswith(API_KEY_MARK)
