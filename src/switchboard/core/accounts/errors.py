"""Account errors: each one a subclass of a core error kind, with a safe default message."""

from __future__ import annotations

from typing import ClassVar

from switchboard.core.errors import (
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    SwitchboardError,
    Unauthenticated,
)


class _AccountError(SwitchboardError):
    """Gives every account error a fixed, user-safe default message."""

    default_message: ClassVar[str] = "Account error"

    def __init__(self, message: str | None = None, *, param: str | None = None) -> None:
        super().__init__(message or self.default_message, param=param)


class EmailTaken(_AccountError, Conflict):
    """An account with this email (in any letter case) already exists."""

    default_code = "email_taken"
    default_message = "An account with this email already exists"


class UsernameTaken(_AccountError, Conflict):
    """Another account already uses this username."""

    default_code = "username_taken"
    default_message = "This username is already taken"


class OwnerMustBeAdmin(_AccountError, Conflict):
    """The owner account cannot lose its admin rights."""

    default_code = "owner_must_be_admin"
    default_message = "The owner account is always an admin"


class InvalidEmail(_AccountError, Invalid):
    """The email address is not shaped like one."""

    default_code = "invalid_email"
    default_message = "Invalid email address"


class WeakPassword(_AccountError, Invalid):
    """The password is too short (or absurdly long)."""

    default_code = "weak_password"
    default_message = "Password must be at least 8 characters"


class UnknownScope(_AccountError, Invalid):
    """An API key scope that switchboard does not know."""

    default_code = "unknown_scope"
    default_message = "Unknown API key scope"


class InvalidApiKeyRequest(_AccountError, Invalid):
    """An API key request that breaks a rule (empty name, no scopes, expiry in the past)."""

    default_code = "invalid_api_key_request"
    default_message = "Invalid API key request"


class ScopeNotAllowed(_AccountError, PermissionDenied):
    """A new API key may not have a scope that its creator lacks."""

    default_code = "scope_not_allowed"
    default_message = "An API key cannot have a scope its creator lacks"


class InvalidCredentials(_AccountError, Unauthenticated):
    """Wrong password or unknown email: one message for both, so emails are not revealed."""

    default_code = "invalid_credentials"
    default_message = "Invalid email or password"


class TokenExpired(_AccountError, Unauthenticated):
    """The access token's `exp` has passed."""

    default_code = "token_expired"
    default_message = "Token has expired"


class TokenInvalid(_AccountError, Unauthenticated):
    """The access token is malformed, badly signed, of the wrong type or unknown."""

    default_code = "invalid_token"
    default_message = "Invalid authentication token"


class TokenRevoked(_AccountError, Unauthenticated):
    """The token's session was revoked, or the user logged out everywhere."""

    default_code = "token_revoked"
    default_message = "Token has been revoked"


class AccountDisabled(_AccountError, Unauthenticated):
    """The account behind a valid credential is disabled."""

    default_code = "account_disabled"
    default_message = "Account is disabled"


class RefreshTokenInvalid(_AccountError, Unauthenticated):
    """The refresh token is unknown, revoked or expired."""

    default_code = "invalid_refresh_token"
    default_message = "Invalid refresh token"


class RefreshReuse(_AccountError, Unauthenticated):
    """A refresh token was presented twice: its whole session has been revoked.

    The revocation is flushed before this is raised; `commit_unit_of_work` tells the unit
    of work to commit it anyway, since rolling back would leave a possibly stolen token
    family alive.
    """

    default_code = "refresh_token_reused"
    commit_unit_of_work = True
    default_message = "Refresh token was already used; the session has been revoked"


class ApiKeyInvalid(_AccountError, Unauthenticated):
    """The API key is malformed, unknown, revoked or expired."""

    default_code = "invalid_api_key"
    default_message = "Invalid API key"


class UserNotFound(_AccountError, NotFound):
    """No such user."""

    default_code = "user_not_found"
    default_message = "User not found"


class SessionNotFound(_AccountError, NotFound):
    """No such session for this user."""

    default_code = "session_not_found"
    default_message = "Session not found"


class ApiKeyNotFound(_AccountError, NotFound):
    """No such API key for this user."""

    default_code = "api_key_not_found"
    default_message = "API key not found"
