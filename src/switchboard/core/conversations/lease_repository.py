"""Streaming replies across owners: their flushed text, their replica's lease, the sweep.

Like the jobs engine's leases (`core.jobs.leases`), every write is one conditional
UPDATE, so replicas racing over the same row never undo each other: a flush or a
renewal only touches a row still `streaming` under this replica's lease, and the sweep
only finishes rows whose lease lapsed (their replica died without finishing them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.conversations.schemas import MessageStatus
from switchboard.kit.db import UnitOfWork
from switchboard.models import Message

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
STREAMING = MessageStatus.STREAMING.value


class StreamingRows:
    """Unscoped writes on `messages` rows in status `streaming`."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncSession]:
        # One conditional UPDATE is atomic by itself: autocommit saves BEGIN and COMMIT.
        async with self._units() as uow:
            await uow.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield uow.session

    async def flush(self, message_id: str, replica: str, text: str, until: datetime) -> bool:
        """Save the text so far and extend the lease; False when the row is no longer
        this replica's streaming reply (finished, or swept)."""
        async with self._statement() as session:
            found = await session.scalar(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.status == STREAMING,
                    Message.lease_owner == replica,
                )
                .values(content=text, lease_expires_at=until)
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            )
        return found is not None

    async def renew(self, replica: str, until: datetime) -> None:
        """Extend the lease of every reply this replica is still producing (its heartbeat:
        a reply waiting on a slow upstream has no text to flush but must stay alive)."""
        async with self._statement() as session:
            await session.execute(
                update(Message)
                .where(Message.status == STREAMING, Message.lease_owner == replica)
                .values(lease_expires_at=until)
                .execution_options(synchronize_session=False)
            )

    async def sweep(self, now: datetime, reason: str) -> list[str]:
        """Finish every streaming reply whose lease lapsed as `partial` with `reason`,
        keeping the flushed text. Returns their ids. (Rows of versions before leases
        were given a lapsed lease by the migration.)"""
        async with self._statement() as session:
            ids = await session.scalars(
                update(Message)
                .where(
                    Message.status == STREAMING,
                    Message.lease_expires_at < now,
                )
                .values(
                    status=MessageStatus.PARTIAL.value,
                    status_reason=reason,
                    completed_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            )
            return list(ids)
