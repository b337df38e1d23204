"""Issue 11, item 10: replicas started together on a fresh database.

Each one creates the owner account at start-up. The one that reads "no owner" just
before another replica inserts it used to fail its insert with `EmailTaken` and exit;
`bootstrap.ensure_owner_account` tries again and finds the other replica's row. (The
migration lock that keeps two replicas from migrating at once is tested in
`tests/migrations/test_migration_lock.py`.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.bootstrap import ensure_owner_account
from switchboard.core.accounts.errors import EmailTaken
from switchboard.core.accounts.repository import UserRepository
from switchboard.models import User
from tests.fixtures.app import Harness

OWNER = "owner-race@example.com"


def lose_the_race_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next owner lookup answers "none" although the row exists, as a replica's does
    when another inserts the owner between its read and its insert."""
    real = UserRepository.get_by_email
    missed: list[str] = []

    async def get_by_email(self: UserRepository, email: str) -> User | None:
        found = await real(self, email)
        if found is not None and not missed:
            missed.append(email)
            return None
        return found

    monkeypatch.setattr(UserRepository, "get_by_email", get_by_email)
    return missed


async def owners(harness: Harness) -> list[Any]:
    page = await harness.run(lambda s: s.accounts.list_users(limit=100))
    return [u for u in page.items if u.is_owner]


async def test_the_replica_that_loses_the_owner_race_keeps_starting(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another replica already created the owner.
    other = await harness.run(lambda s: s.accounts.ensure_owner(OWNER))
    missed = lose_the_race_once(monkeypatch)
    # What start-up did before: one attempt, which loses the race.
    with pytest.raises(EmailTaken):
        await harness.run(lambda s: s.accounts.ensure_owner(OWNER))
    missed.clear()
    owner = await ensure_owner_account(harness.ctx, OWNER)
    assert missed == [OWNER]  # the race did happen
    assert owner.id == other.id
    assert [u.id for u in await owners(harness)] == [other.id]


async def test_replicas_starting_together_agree_on_one_owner(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    replicas = [await harness_factory() for _ in range(4)]
    results = await asyncio.gather(
        *(ensure_owner_account(replica.ctx, "together@example.com") for replica in replicas)
    )
    assert len({owner.id for owner in results}) == 1
    assert [u.id for u in await owners(replicas[0])] == [results[0].id]
