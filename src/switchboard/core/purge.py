"""Deleting an account: every domain's purger in the order registered, the account last.

The account's rows go by ON DELETE CASCADE when its user row is deleted, so a purger is
for what the database cannot cascade: stored bytes, process caches, state elsewhere.
Purgers run inside the caller's unit of work, before the user row is deleted (they may
still read what the user owns), and defer anything irreversible until that unit of
work commits (`UnitOfWork.after_commit`): a rolled-back deletion must leave the account
whole. The composition root registers them (`bootstrap.build_account_purge`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class AccountDeleter(Protocol):
    """What deletes the user row itself (`AccountService`)."""

    async def delete_user(self, user_id: str) -> None:
        """Delete the user; its rows go by cascade."""
        ...


class Purgeable(Protocol):
    """The services a purge runs with (`core.container.Services`)."""

    @property
    def accounts(self) -> AccountDeleter:
        """Users, deleted last."""
        ...


S = TypeVar("S", bound=Purgeable)


class AccountPurge(Generic[S]):
    """The ordered purgers that delete an account; the user row itself goes last."""

    def __init__(self) -> None:
        self._purgers: dict[str, Callable[[S, str], Awaitable[None]]] = {}

    def register(self, name: str, purger: Callable[[S, str], Awaitable[None]]) -> None:
        """Add `purger` after those already registered; a name may be used once."""
        if name in self._purgers:
            raise ValueError(f"an account purger named {name!r} is already registered")
        self._purgers[name] = purger

    @property
    def names(self) -> tuple[str, ...]:
        """The registered purgers, in the order they run."""
        return tuple(self._purgers)

    async def run(self, services: S, user_id: str) -> None:
        """Purge every domain of `user_id`, then delete the account (`UserNotFound` if
        there is none, which rolls the unit of work back with everything deferred)."""
        for purger in self._purgers.values():
            await purger(services, user_id)
        await services.accounts.delete_user(user_id)
