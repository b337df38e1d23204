"""UsageRecorder: entries are written in batches, off the request path, and not lost."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from switchboard.core.usage.recorder import MAX_ATTEMPTS, UsageEntry, UsageRecorder
from switchboard.models import UsageRecord
from tests.fixtures.app import Harness
from tests.fixtures.waiting import eventually, yield_to_loop


def _entry(i: int = 0, user_id: str = "u1") -> UsageEntry:
    return UsageEntry(
        user_id=user_id,
        source="test",
        provider="echo",
        model="echo",
        prompt_tokens=i,
        completion_tokens=1,
    )


class FakeWriter:
    """A `write_batch` that records batches and can be told to fail or to hang."""

    def __init__(self) -> None:
        self.batches: list[list[UsageEntry]] = []
        self.failures: list[BaseException] = []
        self.hang: asyncio.Event | None = None
        self.calls = 0

    async def __call__(self, entries: Sequence[UsageEntry]) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        if self.hang is not None:
            await self.hang.wait()
        self.batches.append(list(entries))

    @property
    def written(self) -> list[UsageEntry]:
        return [e for batch in self.batches for e in batch]


class TestFlush:
    async def test_many_entries_few_batches(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer, max_batch=500)
        entries = [_entry(i) for i in range(1200)]
        for entry in entries:
            recorder.record(entry)

        await recorder.flush()

        assert [len(b) for b in writer.batches] == [500, 500, 200]
        assert writer.written == entries

    async def test_nothing_queued_writes_nothing(self) -> None:
        writer = FakeWriter()

        await UsageRecorder(writer).flush()

        assert writer.calls == 0

    @pytest.mark.parametrize(
        "failure",
        [OperationalError("INSERT", {}, Exception("database is locked")), ConnectionError("down")],
    )
    async def test_failed_write_keeps_the_entries(self, failure: BaseException) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer)
        first = [_entry(i) for i in range(3)]
        for entry in first:
            recorder.record(entry)
        writer.failures.append(failure)

        await recorder.flush()
        assert writer.written == []
        later = _entry(99)
        recorder.record(later)
        await recorder.flush()

        assert writer.written == [*first, later]

    async def test_batch_failing_every_time_is_dropped_after_the_last_attempt(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer)
        recorder.record(_entry(1))
        writer.failures.extend(OperationalError("INSERT", {}, Exception("x")) for _ in range(9))

        for _ in range(MAX_ATTEMPTS):
            await recorder.flush()
        writer.failures.clear()
        recorder.record(_entry(2))
        await recorder.flush()

        assert [e.prompt_tokens for e in writer.written] == [2]


class TestStart:
    async def test_writes_within_the_interval(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer, interval=0.05)
        recorder.start()
        try:
            for i in range(20):
                recorder.record(_entry(i))

            await eventually(lambda: len(writer.written) == 20)

            assert len(writer.batches) <= 2
        finally:
            await recorder.aclose()

    async def test_full_batch_is_written_before_the_interval(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer, interval=60, max_batch=10)
        recorder.start()
        try:
            await asyncio.sleep(0)  # one turn of the loop: the flusher is now waiting
            for i in range(10):
                recorder.record(_entry(i))

            await eventually(lambda: len(writer.written) == 10, timeout=2.0)
        finally:
            await recorder.aclose()

    async def test_keeps_running_after_a_failed_write(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer, interval=0.02)
        writer.failures.append(OperationalError("INSERT", {}, Exception("locked")))
        recorder.start()
        try:
            recorder.record(_entry(1))

            await eventually(lambda: len(writer.written) == 1)
        finally:
            await recorder.aclose()


class TestAclose:
    async def test_flushes_what_is_left(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer, interval=60)
        recorder.start()
        for i in range(5):
            recorder.record(_entry(i))

        await recorder.aclose()

        assert len(writer.written) == 5

    async def test_without_start(self) -> None:
        writer = FakeWriter()
        recorder = UsageRecorder(writer)
        recorder.record(_entry())

        await recorder.aclose()

        assert len(writer.written) == 1

    async def test_write_in_progress_finishes_once_and_is_not_cancelled(self) -> None:
        writer = FakeWriter()
        release = writer.hang = asyncio.Event()
        recorder = UsageRecorder(writer, interval=60, max_batch=3)
        recorder.start()
        entries = [_entry(i) for i in range(3)]
        for entry in entries:
            recorder.record(entry)
        await eventually(lambda: writer.calls == 1)  # the background write hangs

        closing = asyncio.create_task(recorder.aclose())
        await yield_to_loop()
        assert not closing.done()  # waits for the write instead of cancelling it
        release.set()
        await closing

        assert writer.written == entries
        assert writer.calls == 1


class TestWithTheDatabase:
    async def test_many_records_one_insert(self, harness: Harness) -> None:
        user = await harness.user("usage@example.com")
        inserts: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO USAGE_RECORDS"):
                inserts.append(statement)

        event.listen(harness.ctx.engine.sync_engine, "before_cursor_execute", count)
        try:
            for i in range(300):
                harness.ctx.recorder.record(_entry(i, user.id))
            await harness.ctx.recorder.flush()
        finally:
            event.remove(harness.ctx.engine.sync_engine, "before_cursor_execute", count)

        assert 1 <= len(inserts) <= 2
        async with harness.ctx.unit_of_work() as uow:
            stored = await uow.session.scalar(
                select(func.count()).select_from(UsageRecord).where(UsageRecord.user_id == user.id)
            )
        assert stored == 300

    async def test_background_flusher_of_the_app(self, harness: Harness) -> None:
        user = await harness.user("usage@example.com")

        harness.ctx.recorder.record(_entry(7, user.id))

        async def stored() -> int:
            async with harness.ctx.unit_of_work() as uow:
                return await uow.session.scalar(select(func.count()).select_from(UsageRecord)) or 0

        async def written() -> bool:
            return await stored() >= 1

        await eventually(written, timeout=3, what="usage written by the background flusher")

    async def test_entries_of_deleted_users_do_not_block_the_batch(self, harness: Harness) -> None:
        user = await harness.user("usage@example.com")
        harness.ctx.recorder.record(_entry(1, "00000000-0000-4000-8000-000000000000"))
        harness.ctx.recorder.record(_entry(2, user.id))

        await harness.ctx.recorder.flush()

        summary = await harness.run(lambda s: s.usage.summary(user.id))
        assert summary.calls == 1 and summary.prompt_tokens == 2
