"""Local database and service fixtures for the accounts tests.

Temporary: a fresh SQLite file per test built with `create_all`. To be replaced by the
shared migrated fixture (tests/fixtures) once it exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import switchboard.models  # noqa: F401  (registers every table on Base.metadata)
from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.passwords import Passwords
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate, UserRead
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.kit.clock import utcnow
from switchboard.kit.db import Base, create_engine, session_factory

SECRET = "test-secret-0123456789-abcdefghijklmnop"
OLD_SECRET = "old-secret-0123456789-abcdefghijklmnopq"
PASSWORD = "correct horse battery"

# A well-formed id that no row has (fixed: xdist workers must collect the same tests).
UNKNOWN_ID = "5f0c4e3a-8a1e-4b47-9a55-3c2d1e0f9b21"


class FakeClock:
    """A settable clock, for expiry without sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'accounts.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(engine)() as session:
        yield session
        await session.rollback()


@pytest.fixture
def passwords() -> Passwords:
    # The cheapest argon2id parameters: the tests check behaviour, not hashing cost.
    return Passwords(PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner([SECRET])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache() -> CredentialCache:
    return CredentialCache()


@pytest.fixture
def service(
    session: AsyncSession, signer: TokenSigner, passwords: Passwords, clock: FakeClock
) -> AccountService:
    return AccountService(
        session,
        signer,
        access_ttl_seconds=3600,
        refresh_ttl_days=30,
        passwords=passwords,
        clock=clock,
    )


@pytest.fixture
async def user(service: AccountService) -> UserRead:
    return await service.create_user(UserCreate(email="alice@example.com", password=PASSWORD))


@pytest.fixture
async def other_user(service: AccountService) -> UserRead:
    return await service.create_user(UserCreate(email="bob@example.com", password=PASSWORD))


@pytest.fixture
async def admin(service: AccountService) -> UserRead:
    return await service.create_user(
        UserCreate(email="admin@example.com", password=PASSWORD), is_admin=True
    )


def principal_of(user: UserRead, *, scopes: frozenset[str] | None = None) -> Principal:
    """A signed-in principal for a user, as a face's authentication would produce."""
    return Principal(
        user_id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        is_owner=user.is_owner,
        scopes=scopes,
    )


async def count(session: AsyncSession, model: type[Base], **where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return int((await session.execute(stmt)).scalar_one())


async def row(session: AsyncSession, model: type[Any], id_: str) -> Any:
    # populate_existing: read what the database holds, not the identity map's copy.
    stmt = select(model).where(model.id == id_).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


@contextmanager
def counting_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def cached_service(
    session: AsyncSession,
    signer: TokenSigner,
    passwords: Passwords,
    clock: FakeClock,
    cache: CredentialCache,
) -> AccountService:
    return AccountService(session, signer, passwords=passwords, cache=cache, clock=clock)
