"""Sessions, workflows, generations and outputs, always looked up within their owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from switchboard.models import ComfyGeneration, ComfyOutput, ComfySession, ComfyWorkflow, Job

COMPLETE = "complete"
FAILED = "failed"
RUNNING = "running"
# A job that ended in these left its generation unfinished (cancelled, timed out).
ABANDONED_JOB_STATUSES = ("failed", "cancelled")

Counts = dict[str, tuple[int, int, int]]  # id -> (generations, complete, failed)


class ComfyRepository:
    """Owner-scoped access to the ComfyUI workspace's tables."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- sessions ------------------------------------------------------------------------
    async def owner_of(self, session_id: str) -> str | None:
        """Who owns the session (for topic authorization); None when there is none."""
        return await self._session.scalar(
            select(ComfySession.user_id).where(ComfySession.id == session_id)
        )

    async def session(self, owner_id: str, session_id: str) -> ComfySession | None:
        """The session, if `owner_id` owns it."""
        return await self._session.scalar(
            select(ComfySession).where(
                ComfySession.id == session_id, ComfySession.user_id == owner_id
            )
        )

    async def sessions(self, owner_id: str) -> list[ComfySession]:
        """The owner's sessions, most recently used first."""
        rows = await self._session.scalars(
            select(ComfySession)
            .where(ComfySession.user_id == owner_id)
            .order_by(ComfySession.updated_at.desc(), ComfySession.id.desc())
        )
        return list(rows)

    async def session_counts(self, owner_id: str, session_ids: Sequence[str]) -> Counts:
        """Generations, completed and failed ones, per session."""
        return await self._counts(owner_id, ComfyGeneration.session_id, session_ids)

    # -- workflows -----------------------------------------------------------------------
    async def workflow(self, owner_id: str, workflow_id: str) -> ComfyWorkflow | None:
        """The workflow, if `owner_id` owns it."""
        return await self._session.scalar(
            select(ComfyWorkflow).where(
                ComfyWorkflow.id == workflow_id, ComfyWorkflow.user_id == owner_id
            )
        )

    async def workflows(self, owner_id: str) -> list[ComfyWorkflow]:
        """The owner's workflows, the default first, then newest first."""
        rows = await self._session.scalars(
            select(ComfyWorkflow)
            .where(ComfyWorkflow.user_id == owner_id)
            .order_by(ComfyWorkflow.is_default.desc(), ComfyWorkflow.created_at.desc())
        )
        return list(rows)

    async def default_workflow(self, owner_id: str) -> ComfyWorkflow | None:
        """The owner's default workflow, if one is marked."""
        return await self._session.scalar(
            select(ComfyWorkflow).where(
                ComfyWorkflow.user_id == owner_id, ComfyWorkflow.is_default.is_(True)
            )
        )

    async def clear_default(self, owner_id: str) -> None:
        """Unmark the owner's default workflow (before marking another one)."""
        await self._session.execute(
            update(ComfyWorkflow)
            .where(ComfyWorkflow.user_id == owner_id, ComfyWorkflow.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    async def workflow_counts(self, owner_id: str, workflow_ids: Sequence[str]) -> Counts:
        """Generations, completed and failed ones, per workflow."""
        return await self._counts(owner_id, ComfyGeneration.workflow_id, workflow_ids)

    # -- generations ---------------------------------------------------------------------
    async def generation(self, owner_id: str, generation_id: str) -> ComfyGeneration | None:
        """The generation, if `owner_id` owns it."""
        return await self._session.scalar(
            select(ComfyGeneration).where(
                ComfyGeneration.id == generation_id, ComfyGeneration.user_id == owner_id
            )
        )

    async def generations_of_session(
        self, owner_id: str, session_id: str, limit: int | None = None
    ) -> list[ComfyGeneration]:
        """The session's generations, newest first."""
        query = (
            select(ComfyGeneration)
            .where(ComfyGeneration.user_id == owner_id, ComfyGeneration.session_id == session_id)
            .order_by(ComfyGeneration.created_at.desc(), ComfyGeneration.id.desc())
        )
        return list(await self._session.scalars(query.limit(limit) if limit else query))

    async def generations_of_workflow(
        self, owner_id: str, workflow_id: str, limit: int
    ) -> list[ComfyGeneration]:
        """The workflow's generations, newest first."""
        rows = await self._session.scalars(
            select(ComfyGeneration)
            .where(ComfyGeneration.user_id == owner_id, ComfyGeneration.workflow_id == workflow_id)
            .order_by(ComfyGeneration.created_at.desc(), ComfyGeneration.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def settle_abandoned(self, owner_id: str, now: datetime) -> None:
        """Fail the owner's running generations whose job ended without finishing them
        (cancelled, timed out): the job row is the truth about the work."""
        abandoned = select(Job.id).where(
            Job.user_id == owner_id, Job.status.in_(ABANDONED_JOB_STATUSES)
        )
        settled = (
            ComfyGeneration.user_id == owner_id,
            ComfyGeneration.status == RUNNING,
            ComfyGeneration.job_id.in_(abandoned),
        )
        # Read first: nearly always there is nothing to settle, and a read takes no write
        # lock (on SQLite, one for the whole database) on every generation read.
        if await self._session.scalar(select(ComfyGeneration.id).where(*settled).limit(1)) is None:
            return
        await self._session.execute(
            update(ComfyGeneration)
            .where(*settled)
            .values(
                status=FAILED,
                error="The generation was cancelled or timed out",
                completed_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session="fetch")
        )

    # -- outputs -------------------------------------------------------------------------
    async def outputs_of(self, generation_ids: Sequence[str]) -> dict[str, list[ComfyOutput]]:
        """The outputs of each generation, in the order they were produced."""
        found: dict[str, list[ComfyOutput]] = {gid: [] for gid in generation_ids}
        if not generation_ids:
            return found
        rows = await self._session.scalars(
            select(ComfyOutput)
            .where(ComfyOutput.generation_id.in_(list(generation_ids)))
            .order_by(ComfyOutput.generation_id, ComfyOutput.position)
        )
        for row in rows:
            found[row.generation_id].append(row)
        return found

    async def output_named(
        self, owner_id: str, filename: str, subfolder: str, kind: str
    ) -> ComfyOutput | None:
        """The owner's newest output with exactly this name, subfolder and type."""
        return await self._session.scalar(
            select(ComfyOutput)
            .join(ComfyGeneration, ComfyGeneration.id == ComfyOutput.generation_id)
            .where(
                ComfyOutput.user_id == owner_id,
                ComfyOutput.filename == filename,
                ComfyOutput.subfolder == subfolder,
                ComfyOutput.type == kind,
            )
            .order_by(ComfyGeneration.created_at.desc(), ComfyOutput.id.desc())
            .limit(1)
        )

    async def media_ids_of(self, owner_id: str, generation_ids: Sequence[str]) -> list[str]:
        """The media files holding the outputs of these generations."""
        if not generation_ids:
            return []
        rows = await self._session.scalars(
            select(ComfyOutput.media_id).where(
                ComfyOutput.user_id == owner_id,
                ComfyOutput.generation_id.in_(list(generation_ids)),
            )
        )
        return list(rows)

    # -- writing -------------------------------------------------------------------------
    def add(self, row: ComfySession | ComfyWorkflow | ComfyGeneration | ComfyOutput) -> None:
        """Stage a new row."""
        self._session.add(row)

    async def delete(self, row: ComfySession | ComfyWorkflow | ComfyGeneration) -> None:
        """Delete a row (its generations and outputs go by cascade)."""
        await self._session.delete(row)

    async def flush(self) -> None:
        """Write staged changes so that defaults are filled in."""
        await self._session.flush()

    async def _counts(
        self, owner_id: str, key: InstrumentedAttribute[str | None], ids: Sequence[str]
    ) -> Counts:
        """Counts grouped by `key` (the generations' session or workflow)."""
        if not ids:
            return {}
        rows = await self._session.execute(
            select(
                key,
                func.count(),
                func.sum(case((ComfyGeneration.status == COMPLETE, 1), else_=0)),
                func.sum(case((ComfyGeneration.status == FAILED, 1), else_=0)),
            )
            .where(ComfyGeneration.user_id == owner_id, key.in_(list(ids)))
            .group_by(key)
        )
        return {row[0]: (int(row[1]), int(row[2] or 0), int(row[3] or 0)) for row in rows}
