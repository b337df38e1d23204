"""Accounts: users, passwords, sign-in sessions, access and refresh tokens, API keys.

The service works inside its caller's transaction: it flushes, never commits. Callers
own the unit of work, with one exception to keep in mind: `RefreshReuse` is raised after
the reused token's session was revoked, and that revocation must be committed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.accounts import rules
from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import (
    AccountDisabled,
    ApiKeyInvalid,
    ApiKeyNotFound,
    EmailTaken,
    InvalidApiKeyRequest,
    InvalidCredentials,
    OwnerMustBeAdmin,
    RefreshReuse,
    RefreshTokenInvalid,
    SessionNotFound,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    UsernameTaken,
    UserNotFound,
)
from switchboard.core.accounts.passwords import MAX_PASSWORD_LENGTH, Passwords
from switchboard.core.accounts.principal import AuthMethod, Principal
from switchboard.core.accounts.repository import (
    ApiKeyRepository,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from switchboard.core.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyRead,
    TokenPair,
    UserCreate,
    UserRead,
    UserUpdate,
)
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.core.errors import Invalid, SwitchboardError
from switchboard.kit.clock import Clock, as_utc, utcnow
from switchboard.kit.crypto import constant_time_equal, random_token, sha256_hex
from switchboard.kit.ids import canonical_id
from switchboard.kit.pagination import Page, encode_cursor
from switchboard.models import ApiKey, AuthSession, RefreshToken, User
from switchboard.models.user import UNLIMITED_QUOTA

log = structlog.get_logger(__name__)

DEFAULT_REFRESH_TTL_DAYS = 30
MAX_PAGE_SIZE = 200
# last_used_at is informational; writing it on every request would cost a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_REFRESH_TOKEN_LENGTH = 512
MAX_USER_AGENT_LENGTH = 512

# PluginMind's subscription tiers; each has its monthly analysis limit (core.analysis).
SUBSCRIPTION_TIERS = ("free", "pro", "premium")

# One shared hasher by default, so its dummy hash (for unknown emails) is made only once.
_DEFAULT_PASSWORDS = Passwords()


class AccountService:
    """Users, sessions, tokens and API keys over one database session it never commits."""

    def __init__(
        self,
        session: AsyncSession,
        signer: TokenSigner,
        *,
        access_ttl_seconds: int | None = None,
        refresh_ttl_days: int = DEFAULT_REFRESH_TTL_DAYS,
        passwords: Passwords | None = None,
        cache: CredentialCache | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._session = session
        self._signer = signer
        self._access_ttl = access_ttl_seconds or signer.ttl_seconds
        self._refresh_ttl = timedelta(days=refresh_ttl_days)
        self._passwords = passwords or _DEFAULT_PASSWORDS
        self._cache = cache
        self._clock = clock
        self._users = UserRepository(session)
        self._sessions = SessionRepository(session)
        self._refresh_tokens = RefreshTokenRepository(session)
        self._api_keys = ApiKeyRepository(session)

    # --- users -------------------------------------------------------------------------

    async def create_user(self, data: UserCreate, *, is_admin: bool = False) -> UserRead:
        """Create an account; `EmailTaken` when the email exists in any letter case."""
        email = rules.normalize_email(data.email)
        if data.password is not None:
            rules.check_password(data.password)
        if await self._users.get_by_email(email) is not None:
            raise EmailTaken(param="email")
        profile = data.model_dump(exclude_unset=True, exclude={"email", "password"})
        await self._check_username_free(profile.get("username"), user_id=None)
        password_hash = None
        if data.password is not None:
            password_hash = await self._passwords.hash_async(data.password)
        user = User(email=email, password_hash=password_hash, is_admin=is_admin)
        _apply_profile(user, profile)
        await self._insert_user(user)
        return to_user_read(user)

    async def get_user(self, user_id: str) -> UserRead:
        """The user with this id; `UserNotFound` otherwise."""
        return to_user_read(await self._load_user(user_id))

    async def get_user_by_email(self, email: str) -> UserRead | None:
        """The user with this email in any letter case, or None."""
        user = await self._users.get_by_email(rules.lookup_email(email))
        return None if user is None else to_user_read(user)

    async def list_users(self, *, offset: int = 0, limit: int = 50) -> Page[UserRead]:
        """One page of users, oldest first, with the total count."""
        offset = max(offset, 0)
        limit = min(max(limit, 1), MAX_PAGE_SIZE)
        users = await self._users.list_page(offset=offset, limit=limit)
        total = await self._users.count()
        following = offset + len(users)
        next_cursor = encode_cursor(following) if following < total else None
        return Page([to_user_read(u) for u in users], total=total, next_cursor=next_cursor)

    async def update_profile(self, user_id: str, data: UserUpdate) -> UserRead:
        """Change the profile fields that are set in `data`; `UsernameTaken` on a clash."""
        user = await self._load_user(user_id)
        changes = data.model_dump(exclude_unset=True)
        await self._check_username_free(changes.get("username"), user_id=user.id)
        _apply_profile(user, changes)
        await self._flush_user()
        return to_user_read(user)

    async def set_admin(self, user_id: str, is_admin: bool) -> UserRead:
        """Grant or withdraw admin rights; the owner always stays an admin."""
        user = await self._load_user(user_id)
        if user.is_owner and not is_admin:
            raise OwnerMustBeAdmin()
        user.is_admin = is_admin
        await self._session.flush()
        self._forget_user(user.id)
        return to_user_read(user)

    async def set_subscription_tier(self, user_id: str, tier: str) -> UserRead:
        """Put the user on `tier` (one of `SUBSCRIPTION_TIERS`)."""
        if tier not in SUBSCRIPTION_TIERS:
            raise Invalid(
                f"Unknown tier '{tier}'; the tiers are: {', '.join(SUBSCRIPTION_TIERS)}",
                code="unknown_tier",
                param="tier",
            )
        user = await self._load_user(user_id)
        user.subscription_tier = tier
        await self._session.flush()
        return to_user_read(user)

    async def set_monthly_quota(self, user_id: str, quota: int | None) -> UserRead:
        """Override the user's monthly analysis limit: a number of analyses,
        `UNLIMITED_QUOTA` for none, or None to go back to the tier's."""
        if quota is not None and quota < 0 and quota != UNLIMITED_QUOTA:
            raise Invalid("A monthly quota is 0 or more", code="invalid_quota", param="quota")
        user = await self._load_user(user_id)
        user.monthly_quota = quota
        await self._session.flush()
        return to_user_read(user)

    async def delete_user(self, user_id: str) -> None:
        """Delete the account and, through ON DELETE CASCADE, everything it owns."""
        user = await self._load_user(user_id)
        await self._users.delete(user.id)
        self._forget_user(user.id)

    async def ensure_owner(self, email: str) -> UserRead:
        """The single-user owner account (admin, no password), created when missing."""
        address = rules.normalize_email(email)
        user = await self._users.get_by_email(address)
        if user is None:
            user = User(email=address, password_hash=None, is_owner=True, is_admin=True)
            await self._insert_user(user)
        elif not (user.is_owner and user.is_admin):
            user.is_owner = True
            user.is_admin = True
            await self._session.flush()
        # The owner email may have changed in settings: there is only ever one owner.
        await self._users.clear_owner_except(user.id)
        return to_user_read(user)

    async def owner_principal(self, email: str) -> Principal:
        """The owner acting without a credential (local trust, a master token)."""
        key = "owner:" + rules.normalize_email(email)
        cached = self._cached(key)
        if cached is None:
            cached = await self._verify_once(key, lambda: self._load_owner(email))
        return cached

    async def _load_owner(self, email: str) -> Principal:
        owner = await self.ensure_owner(email)
        principal = Principal(
            user_id=owner.id, email=owner.email, is_admin=True, is_owner=True, auth_method="local"
        )
        self._remember("owner:" + owner.email, principal, until=None, now=self._clock())
        return principal

    # --- passwords and sessions --------------------------------------------------------

    async def authenticate(self, email: str, password: str) -> UserRead:
        """The user whose email and password match; `InvalidCredentials` otherwise."""
        if len(password) > MAX_PASSWORD_LENGTH:
            # Refused before any lookup, so it takes the same time for every email.
            raise InvalidCredentials()
        user = await self._users.get_by_email(rules.lookup_email(email))
        # Unknown emails and password-less accounts still pay for one (dummy) verification.
        stored_hash = None if user is None else user.password_hash
        matches = await self._passwords.verify_async(stored_hash, password)
        if user is None or stored_hash is None or not matches or not user.is_active:
            raise InvalidCredentials()
        if self._passwords.needs_rehash(stored_hash):
            user.password_hash = await self._passwords.hash_async(password)
            await self._session.flush()
        return to_user_read(user)

    async def start_session(self, user_id: str, *, user_agent: str | None = None) -> TokenPair:
        """Sign a user in: a new session with its first refresh token and an access token."""
        user = await self._load_active_user(user_id)
        now = self._clock()
        auth_session = AuthSession(
            user_id=user.id,
            created_at=now,
            expires_at=now + self._refresh_ttl,
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
        )
        await self._sessions.add(auth_session)
        return await self._issue_pair(user, auth_session, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; reuse revokes the whole session."""
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_LENGTH:
            raise RefreshTokenInvalid()
        found = await self._refresh_tokens.get_with_session(sha256_hex(refresh_token))
        if found is None:
            raise RefreshTokenInvalid()
        token, auth_session = found
        now = self._clock()
        if auth_session.revoked_at is not None:
            raise RefreshTokenInvalid("Session has been revoked")
        if token.used_at is not None or not await self._refresh_tokens.mark_used(token.id, at=now):
            # Someone holds a copy of a spent token: end the family for both holders.
            await self._revoke(auth_session, now, reason="refresh_reuse")
            _log_refresh_reuse(token, auth_session)
            raise RefreshReuse()
        if token.expires_at <= now or auth_session.expires_at <= now:
            raise RefreshTokenInvalid("Refresh token has expired")
        user = await self._users.get(auth_session.user_id)
        if user is None or not user.is_active:
            raise AccountDisabled()
        return await self._issue_pair(user, auth_session, now)

    async def revoke_session(
        self, user_id: str, session_id: str, *, reason: str = "logout"
    ) -> None:
        """End one of the user's sessions; `SessionNotFound` for anyone else's."""
        auth_session = await self._owned_session(user_id, session_id)
        if auth_session.revoked_at is None:
            await self._revoke(auth_session, self._clock(), reason=reason)

    async def logout_everywhere(self, user_id: str) -> None:
        """Invalidate every access token and session of the user (token_version bump)."""
        user = await self._load_user(user_id)
        await self._users.bump_token_version(user.id)
        await self._sessions.revoke_all_for_owner(
            user.id, at=self._clock(), reason="logout_everywhere"
        )
        self._forget_user(user.id)

    async def verify_access_token(
        self, token: str, *, auth_method: AuthMethod = "access_token"
    ) -> Principal:
        """The principal behind a valid access token of a live session."""
        digest = sha256_hex(token)
        cached = self._cached(digest)
        if cached is None:
            cached = await self._verify_once(digest, lambda: self._verify_token(token, digest))
        if cached.auth_method != auth_method:
            return dataclasses.replace(cached, auth_method=auth_method)
        return cached

    async def _verify_token(self, token: str, digest: str) -> Principal:
        claims = self._signer.decode(token)
        auth_session, user = await self._token_session(claims.user_id, claims.session_id)
        now = self._clock()
        if auth_session.revoked_at is not None or user.token_version != claims.token_version:
            raise TokenRevoked()
        if auth_session.expires_at <= now:
            raise TokenExpired()
        if not user.is_active:
            raise AccountDisabled()
        principal = _session_principal(user, auth_session)
        self._remember(digest, principal, until=claims.expires_at, now=now)
        return principal

    # --- API keys ----------------------------------------------------------------------

    async def create_api_key(
        self,
        creator: Principal,
        *,
        name: str,
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
    ) -> ApiKeyCreated:
        """A new key for the creator's account; the secret is in the result and nowhere else."""
        user = await self._load_active_user(creator.user_id)
        label = name.strip()
        if not 1 <= len(label) <= 200:
            raise InvalidApiKeyRequest("API key name must be 1 to 200 characters", param="name")
        chosen = rules.resolve_scopes(creator, scopes, creator_is_admin=user.is_admin)
        now = self._clock()
        expiry = as_utc(expires_at) if expires_at is not None else None
        if expiry is not None and expiry <= now:
            raise InvalidApiKeyRequest("expires_at must be in the future", param="expires_at")
        prefix = await self._unused_prefix()
        secret = random_token(32)
        key = ApiKey(
            user_id=user.id,
            name=label,
            prefix=prefix,
            secret_hash=sha256_hex(secret),
            scopes=chosen,
            created_at=now,
            expires_at=expiry,
        )
        await self._api_keys.add(key)
        return ApiKeyCreated(
            id=key.id,
            name=key.name,
            prefix=prefix,
            key=rules.format_api_key(prefix, secret),
            scopes=chosen,
            created_at=now,
            expires_at=expiry,
        )

    async def list_api_keys(
        self, user_id: str, *, include_revoked: bool = False
    ) -> list[ApiKeyRead]:
        """The user's keys, newest first, without secrets."""
        keys = await self._api_keys.list_for_owner(user_id, include_revoked=include_revoked)
        return [to_api_key_read(key) for key in keys]

    async def revoke_api_key(self, user_id: str, key_id: str) -> None:
        """Revoke one of the user's keys; `ApiKeyNotFound` for anyone else's."""
        canonical = canonical_id(key_id)
        key = None if canonical is None else await self._api_keys.get_for_owner(user_id, canonical)
        if key is None:
            raise ApiKeyNotFound()
        if key.revoked_at is None:
            key.revoked_at = self._clock()
            await self._session.flush()
        if self._cache is not None:
            self._cache.invalidate_api_key(key.id)

    async def verify_api_key(self, raw_key: str) -> Principal:
        """The principal behind a valid, unrevoked, unexpired API key."""
        digest = sha256_hex(raw_key)
        cached = self._cached(digest)
        if cached is not None:
            return cached
        return await self._verify_once(digest, lambda: self._verify_key(raw_key, digest))

    async def _verify_key(self, raw_key: str, digest: str) -> Principal:
        key, user = await self._matching_key(raw_key)
        now = self._clock()
        if key.revoked_at is not None:
            raise ApiKeyInvalid("API key has been revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise ApiKeyInvalid("API key has expired")
        if not user.is_active:
            raise AccountDisabled()
        await self._touch(key, now)
        principal = _api_key_principal(user, key)
        self._remember(digest, principal, until=key.expires_at, now=now)
        return principal

    # --- helpers -----------------------------------------------------------------------

    async def _load_user(self, user_id: str) -> User:
        canonical = canonical_id(user_id)
        user = None if canonical is None else await self._users.get(canonical)
        if user is None:
            raise UserNotFound()
        return user

    async def _load_active_user(self, user_id: str) -> User:
        user = await self._load_user(user_id)
        if not user.is_active:
            raise AccountDisabled()
        return user

    async def _check_username_free(self, username: str | None, *, user_id: str | None) -> None:
        if not username:
            return
        holder = await self._users.get_by_username(username)
        if holder is not None and holder.id != user_id:
            raise UsernameTaken(param="username")

    async def _insert_user(self, user: User) -> None:
        try:
            await self._users.add(user)
        except IntegrityError as exc:
            # A concurrent sign-up won the race between our check and our insert.
            taken = _taken_error(exc)
            if taken is None:
                raise
            raise taken from exc

    async def _flush_user(self) -> None:
        try:
            await self._session.flush()
        except IntegrityError as exc:
            taken = _taken_error(exc)
            if taken is None:
                raise
            raise taken from exc

    async def _owned_session(self, user_id: str, session_id: str) -> AuthSession:
        owner, canonical = canonical_id(user_id), canonical_id(session_id)
        found = None
        if owner is not None and canonical is not None:
            found = await self._sessions.get_for_owner(owner, canonical)
        if found is None:
            raise SessionNotFound()
        return found

    async def _token_session(self, user_id: str, session_id: str) -> tuple[AuthSession, User]:
        owner, canonical = canonical_id(user_id), canonical_id(session_id)
        found = None
        if owner is not None and canonical is not None:
            found = await self._sessions.get_with_user(owner, canonical)
        if found is None:
            raise TokenInvalid()
        return found

    async def _issue_pair(self, user: User, auth_session: AuthSession, now: datetime) -> TokenPair:
        raw_refresh = random_token(32)
        refresh = RefreshToken(
            session_id=auth_session.id,
            token_hash=sha256_hex(raw_refresh),
            created_at=now,
            expires_at=now + self._refresh_ttl,
        )
        await self._refresh_tokens.add(refresh)
        # The session lives as long as its newest refresh token (a sliding window).
        auth_session.expires_at = refresh.expires_at
        await self._session.flush()
        access = self._signer.issue(
            user_id=user.id,
            session_id=auth_session.id,
            token_version=user.token_version,
            ttl_seconds=self._access_ttl,
            now=now,
        )
        return TokenPair(
            access_token=access.token,
            refresh_token=raw_refresh,
            expires_in=self._access_ttl,
            expires_at=access.expires_at,
            refresh_expires_at=refresh.expires_at,
            session_id=auth_session.id,
        )

    async def _revoke(self, auth_session: AuthSession, now: datetime, *, reason: str) -> None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason
        await self._session.flush()
        if self._cache is not None:
            self._cache.invalidate_session(auth_session.id)

    async def _unused_prefix(self) -> str:
        # 36**12 prefixes make a clash vanishingly rare; the loop only guards the constraint.
        for _ in range(5):
            prefix = rules.new_prefix()
            if not await self._api_keys.prefix_exists(prefix):
                return prefix
        raise RuntimeError("could not find an unused API key prefix")

    async def _matching_key(self, raw_key: str) -> tuple[ApiKey, User]:
        parsed = rules.parse_api_key(raw_key)
        if parsed is None:
            raise ApiKeyInvalid()
        prefix, secret = parsed
        found = await self._api_keys.get_by_prefix_with_user(prefix)
        if found is None or not constant_time_equal(sha256_hex(secret), found[0].secret_hash):
            raise ApiKeyInvalid()
        return found

    async def _touch(self, key: ApiKey, now: datetime) -> None:
        if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
            return
        await self._api_keys.touch(key.id, at=now, not_since=now - LAST_USED_RESOLUTION)

    def _cached(self, digest: str) -> Principal | None:
        return None if self._cache is None else self._cache.get(digest)

    async def _verify_once(
        self, digest: str, verify: Callable[[], Awaitable[Principal]]
    ) -> Principal:
        # Concurrent misses for one credential (an expiry under load) share one lookup:
        # the first runs it (and its `last_used_at` touch) in its own unit of work.
        if self._cache is None:
            return await verify()
        return await self._cache.shared(digest, verify)

    def _remember(
        self, digest: str, principal: Principal, *, until: datetime | None, now: datetime
    ) -> None:
        if self._cache is None:
            return
        max_age = None if until is None else (until - now).total_seconds()
        self._cache.put(digest, principal, max_age=max_age)

    def _forget_user(self, user_id: str) -> None:
        if self._cache is not None:
            self._cache.invalidate_user(user_id)


def to_user_read(user: User) -> UserRead:
    """The public view of a user row."""
    fields = {name: getattr(user, name) for name in UserRead.model_fields if name != "has_password"}
    return UserRead(has_password=user.password_hash is not None, **fields)


def to_api_key_read(key: ApiKey) -> ApiKeyRead:
    """The public view of an API key row (never its hash)."""
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _apply_profile(user: User, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        # survey_completed is NOT NULL: None means "leave it as it is".
        if name == "survey_completed" and value is None:
            continue
        setattr(user, name, value)


def _taken_error(exc: IntegrityError) -> SwitchboardError | None:
    # Both SQLite ("UNIQUE constraint failed: users.email") and PostgreSQL
    # ("uq_users_email") name the column; anything else is not ours to translate.
    text = str(exc.orig).lower()
    if "username" in text:
        return UsernameTaken(param="username")
    if "email" in text:
        return EmailTaken(param="email")
    return None


def _log_refresh_reuse(token: RefreshToken, auth_session: AuthSession) -> None:
    """A security event: a spent refresh token came back, so a copy of it exists (a
    stolen token, or a client replaying one). Ids only: never the token or its hash,
    which would let a reader of the logs match or replay it."""
    log.warning(
        "security.refresh_token_reused",
        security_event="refresh_token_reused",
        action="session_revoked",
        user_id=auth_session.user_id,
        session_id=auth_session.id,
        refresh_token_id=token.id,
        token_issued_at=token.created_at,
        token_used_at=token.used_at,
    )


def _session_principal(user: User, auth_session: AuthSession) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        is_owner=user.is_owner,
        session_id=auth_session.id,
        auth_method="access_token",
    )


def _api_key_principal(user: User, key: ApiKey) -> Principal:
    scopes = frozenset(key.scopes)
    return Principal(
        user_id=user.id,
        email=user.email,
        # An admin's key acts as admin only when it was given the admin scope.
        is_admin=user.is_admin and rules.ADMIN_SCOPE in scopes,
        is_owner=user.is_owner,
        scopes=scopes,
        api_key_id=key.id,
        auth_method="api_key",
    )
