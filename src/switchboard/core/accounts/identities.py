"""Signing in with external issuers' ID tokens: linking a verified subject to an account.

An issuer's subject is one person; the `identities` table links it to one account. The
rules never silently hand an existing account to someone else:
- a subject already linked signs in as its account;
- a new subject whose verified e-mail is on a domain its issuer is authoritative for
  (`oidc.vouches_for_email`, one rule for every issuer: Google for gmail.com, for the
  `hd` it asserts and for SWITCHBOARD_GOOGLE_EMAIL_DOMAINS; a tenant for
  SWITCHBOARD_OIDC_EMAIL_DOMAINS) is linked to the existing account with that e-mail,
  unless that account is already linked to another subject of the same issuer
  (`IdentityConflict`: a link is never replaced);
- a new subject whose verified e-mail an existing account holds, on a domain its issuer
  is not authoritative for, is refused (`LinkRequired`): anyone can make an issuer
  account with a verified address elsewhere. The account's holder signs in another way
  and links the subject explicitly (`IdentitySignIn.link`);
- otherwise the subject gets a new account: with its verified e-mail when no account
  has it yet, else (no verified e-mail) with an address under `.invalid` (RFC 2606) that
  nobody receives mail at.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import AccountDisabled
from switchboard.core.accounts.identity_repository import IdentityRepository
from switchboard.core.accounts.oidc import (
    IdTokenIdentity,
    IdTokenVerifier,
    IssuerConfig,
    IssuerNotConfigured,
)
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.repository import UserRepository
from switchboard.core.accounts.schemas import TokenPair, UserCreate, UserRead
from switchboard.core.accounts.service import AccountService, to_user_read
from switchboard.core.errors import Conflict
from switchboard.kit.crypto import sha256_hex
from switchboard.models import Identity, User

# Accounts whose subject brought no e-mail it may claim get an address here.
UNCLAIMED_EMAIL_DOMAIN = "unclaimed.invalid"

# AccountService issuing access tokens that live `seconds` (None: the operator's setting).
AccountsFor = Callable[[int | None], AccountService]


class IdentityConflict(Conflict):
    """The account is already linked to another subject of the same issuer: a link is
    never replaced (409, not 401: the token was valid, the account's state refuses it)."""

    default_code = "identity_conflict"


class LinkRequired(Conflict):
    """An account holds the token's verified e-mail, but the issuer is not authoritative
    for its domain: only the account's holder, signed in, may link the subject."""

    default_code = "link_required"


class IdentityLinkedElsewhere(Conflict):
    """The subject is already linked to another account: a link is never moved."""

    default_code = "identity_linked_elsewhere"


@dataclass(frozen=True, slots=True)
class IdTokenSession:
    """A completed sign-in: the account, its new session and the verified identity."""

    user: UserRead
    tokens: TokenPair
    identity: IdTokenIdentity


class IdentitySignIn:
    """Signs users in with ID tokens of the configured issuers, in the caller's unit of work."""

    def __init__(
        self,
        session: AsyncSession,
        verifiers: Mapping[str, IdTokenVerifier],
        accounts: AccountsFor,
        *,
        cache: CredentialCache | None = None,
    ) -> None:
        self._session = session
        self._verifiers = verifiers
        self._accounts_for = accounts
        self._accounts = accounts(None)
        self._cache = cache
        self._links = IdentityRepository(session)
        self._users = UserRepository(session)

    def verifier(self, issuer: str) -> IdTokenVerifier:
        """The verifier configured under the name `issuer` (`IssuerNotConfigured` if none)."""
        verifier = self._verifiers.get(issuer)
        if verifier is None:
            raise IssuerNotConfigured(
                "This sign-in method is not configured on this server",
                code=f"{issuer}_not_configured",
            )
        return verifier

    async def verify(self, issuer: str, id_token: str) -> IdTokenIdentity:
        """Verify an ID token without touching any account."""
        return await self.verifier(issuer).verify(id_token)

    async def sign_in(
        self,
        issuer: str,
        id_token: str,
        *,
        user_agent: str | None = None,
        session_ttl_seconds: int | None = None,
    ) -> IdTokenSession:
        """Verify the token, link or create the account and start a session for it whose
        access token lives `session_ttl_seconds` (default: the operator's access TTL)."""
        verifier = self.verifier(issuer)
        identity = await verifier.verify(id_token)
        user, _ = await self._linked_user(verifier.config, identity)
        accounts = self._accounts_for(session_ttl_seconds)
        tokens = await accounts.start_session(user.id, user_agent=user_agent)
        return IdTokenSession(to_user_read(user), tokens, identity)

    async def principal(self, issuer: str, id_token: str) -> Principal:
        """The caller behind an ID token presented as a credential (no session is made)."""
        digest = sha256_hex(id_token)
        cached = None if self._cache is None else self._cache.get(digest)
        if cached is not None:
            return cached
        verifier = self.verifier(issuer)
        identity = await verifier.verify(id_token)
        user, existed = await self._linked_user(verifier.config, identity)
        principal = Principal(
            user_id=user.id,
            email=user.email,
            is_admin=user.is_admin,
            is_owner=user.is_owner,
            auth_method="id_token",
        )
        # Only links read from the database: a new one is not committed yet.
        if existed and self._cache is not None:
            self._cache.put(digest, principal, max_age=identity.expires_at - time.time())
        return principal

    async def linked_subject(self, user_id: str, issuer: str) -> str | None:
        """The subject of `issuer` linked to the user's account, if any."""
        return await self._links.subject_of(user_id, self.verifier(issuer).config.issuer)

    async def link(self, user_id: str, issuer: str, id_token: str) -> IdTokenIdentity:
        """Link the subject of a verified ID token to the signed-in user's account: the
        explicit way for an address its issuer is not authoritative for. Linking the
        subject already linked to this account again changes nothing; a subject linked
        elsewhere (`IdentityLinkedElsewhere`) or an account linked to another subject of
        the issuer (`IdentityConflict`) is refused: links are never moved or replaced."""
        verifier = self.verifier(issuer)
        identity = await verifier.verify(id_token)
        user = await self._row((await self._accounts.get_user(user_id)).id)
        if not user.is_active:
            raise AccountDisabled()
        found = await self._links.find(identity.issuer, identity.subject)
        if found is None:
            await self._check_unlinked(verifier.config, user.id, identity.issuer)
            found = await self._add_link(identity, user)
        if found[1].id != user.id:
            raise _linked_elsewhere(verifier.config)
        await self._refresh(found[0], found[1], identity)
        return identity

    async def _linked_user(
        self, config: IssuerConfig, identity: IdTokenIdentity
    ) -> tuple[User, bool]:
        """The active account of the identity, linked now if needed; True if it was linked
        before."""
        user, existed = await self._link(config, identity)
        if not user.is_active:
            raise AccountDisabled()
        return user, existed

    async def _link(self, config: IssuerConfig, identity: IdTokenIdentity) -> tuple[User, bool]:
        found = await self._links.find(identity.issuer, identity.subject)
        if found is not None:
            link, user = found
            await self._refresh(link, user, identity)
            return user, True
        try:
            async with self._session.begin_nested():
                user = await self._account_for(config, identity)
                await self._links.add(self._new_link(identity, user))
                await self._refresh(None, user, identity)
        except IntegrityError:
            # A concurrent first sign-in of the same subject linked it: use that link.
            found = await self._links.find(identity.issuer, identity.subject)
            if found is None:
                raise
            return found[1], True
        return user, False

    async def _add_link(self, identity: IdTokenIdentity, user: User) -> tuple[Identity, User]:
        """Link the subject to `user`; whatever link a concurrent request made wins."""
        try:
            async with self._session.begin_nested():
                link = await self._links.add(self._new_link(identity, user))
        except IntegrityError:
            found = await self._links.find(identity.issuer, identity.subject)
            if found is None:
                raise
            return found
        return link, user

    @staticmethod
    def _new_link(identity: IdTokenIdentity, user: User) -> Identity:
        return Identity(
            issuer=identity.issuer,
            subject=identity.subject,
            user_id=user.id,
            email=identity.email,
        )

    async def _account_for(self, config: IssuerConfig, identity: IdTokenIdentity) -> User:
        """The account a new subject links to: an existing one only where its issuer is
        authoritative for the e-mail and the account has no other subject of it; a new
        one when nobody holds the e-mail; else a refusal."""
        email = identity.email
        holder = None if email is None else await self._accounts.get_user_by_email(email)
        if holder is None:
            return await self._new_account(identity, email)
        if not config.vouches_for(identity):
            raise LinkRequired(
                "An account with this email already exists. Sign in to it another way, "
                f"then link your {config.label} account to it",
                code=f"{config.name}_link_required",
            )
        await self._check_unlinked(config, holder.id, identity.issuer)
        return await self._row(holder.id)

    async def _check_unlinked(self, config: IssuerConfig, user_id: str, issuer: str) -> None:
        """`IdentityConflict` when the account is linked to a subject of the issuer."""
        if await self._links.subject_of(user_id, issuer) is not None:
            raise IdentityConflict(
                f"This account is already linked to a different {config.label} account",
                code=f"{config.name}_account_conflict",
            )

    async def _new_account(self, identity: IdTokenIdentity, email: str | None) -> User:
        address = email or f"{secrets.token_hex(16)}@{UNCLAIMED_EMAIL_DOMAIN}"
        created = await self._accounts.create_user(
            UserCreate(email=address, full_name=identity.name, avatar_url=identity.picture)
        )
        return await self._row(created.id)

    async def _row(self, user_id: str) -> User:
        user = await self._users.get(user_id)
        assert user is not None  # read in this transaction a moment ago
        return user

    async def _refresh(self, link: Identity | None, user: User, identity: IdTokenIdentity) -> None:
        """Record what the issuer says now: its verified e-mail, and the profile fields the
        account has not filled in itself."""
        changed = False
        if link is not None and identity.email and link.email != identity.email:
            link.email, changed = identity.email, True
        if identity.name and not user.full_name:
            user.full_name, changed = identity.name, True
        if identity.picture and not user.avatar_url:
            user.avatar_url, changed = identity.picture, True
        if changed:
            await self._session.flush()


def _linked_elsewhere(config: IssuerConfig) -> IdentityLinkedElsewhere:
    return IdentityLinkedElsewhere(
        f"This {config.label} account is already linked to another account",
        code=f"{config.name}_linked_elsewhere",
    )


class IssuerSignIn:
    """`IdentitySignIn` bound to one issuer."""

    def __init__(self, identities: IdentitySignIn, issuer: str) -> None:
        self._identities = identities
        self._issuer = issuer

    async def verify(self, id_token: str) -> IdTokenIdentity:
        """Verify an ID token of the issuer without touching any account."""
        return await self._identities.verify(self._issuer, id_token)

    async def sign_in(
        self,
        id_token: str,
        *,
        user_agent: str | None = None,
        session_ttl_seconds: int | None = None,
    ) -> IdTokenSession:
        """Verify the token, link or create the account and start a session for it."""
        return await self._identities.sign_in(
            self._issuer,
            id_token,
            user_agent=user_agent,
            session_ttl_seconds=session_ttl_seconds,
        )

    async def linked_subject(self, user_id: str) -> str | None:
        """The issuer's subject linked to the user's account, if any."""
        return await self._identities.linked_subject(user_id, self._issuer)

    async def link(self, user_id: str, id_token: str) -> IdTokenIdentity:
        """Link the token's subject to the signed-in user's account (see
        `IdentitySignIn.link`)."""
        return await self._identities.link(user_id, self._issuer, id_token)
