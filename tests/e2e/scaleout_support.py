"""What the scale-out test needs besides `tests.e2e.conftest.start_server`: a fresh
PostgreSQL database, a Redis database of its own, `switchboard worker` processes, and a
cluster of two replicas and two workers started together.

Isolation from the rest of the suite, which runs beside it under xdist:

- the database is created for the module and dropped afterwards (WITH (FORCE): a
  replica killed with SIGKILL leaves its sessions behind for a moment);
- Redis: xdist workers count down from the test Redis database (15, 14, ...), and
  harness tests reset every rate-limit counter of theirs; the cluster uses the database
  eight below, which only a ninth xdist worker would reach, and a job stream of its own.
  Pub/sub is not per database, but every topic it carries names a fresh id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import create_engine
from switchboard.kit.ids import new_id
from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.fixtures.app import TEST_SECRET
from tests.fixtures.database import BASE_DATABASE_URL
from tests.fixtures.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
BASE_REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL")
REDIS_DATABASE_OFFSET = 8


def skip_reason() -> str | None:
    """Why the scale-out test cannot run here, or None when it can."""
    if not (BASE_DATABASE_URL or "").startswith("postgresql"):
        return "scale-out needs SWITCHBOARD_TEST_DATABASE_URL to be a PostgreSQL URL"
    if not BASE_REDIS_URL:
        return "scale-out needs SWITCHBOARD_TEST_REDIS_URL"
    return None


def own_redis_url() -> str:
    """The test Redis, on a database number no xdist worker of a usual run takes."""
    assert BASE_REDIS_URL is not None
    parts = urlsplit(BASE_REDIS_URL)
    database = (int(parts.path.lstrip("/") or 0) - REDIS_DATABASE_OFFSET) % 16
    return urlunsplit(parts._replace(path=f"/{database}"))


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    assert BASE_DATABASE_URL is not None
    base = make_url(BASE_DATABASE_URL)
    name = f"{base.database}_scaleout_{new_id().replace('-', '')[:12]}"
    # The maintenance database: the one the URL names need not exist yet.
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    admin = create_engine(url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


@dataclass
class Worker:
    """A `switchboard worker` process and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        """The log so far."""
        return self.log.read_text(errors="replace")


def start_worker(log: Path, data_dir: Path, database_url: str, env: dict[str, str]) -> Worker:
    """Start `python -m switchboard worker` (it does not wait for it to be ready)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    full.update(env)
    full.update(
        {
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_SECRET_KEY": TEST_SECRET,
            "SWITCHBOARD_LOG_FORMAT": "json",
        }
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "worker", "--concurrency", "4"],
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return Worker(process, log)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, as a crash or the OOM killer would, and reap the process."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class Cluster:
    """Two replicas and two workers on one fresh database and one Redis."""

    root: Path
    database_url: str
    redis_url: str
    env: dict[str, str]
    engine: AsyncEngine
    replicas: list[LiveServer] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    @property
    def a(self) -> LiveServer:
        """Replica A."""
        return self.replicas[0]

    @property
    def b(self) -> LiveServer:
        """Replica B."""
        return self.replicas[1]

    def worker_pids(self) -> set[int]:
        """The pids of every worker started so far."""
        return {w.process.pid for w in self.workers}

    def add_worker(self) -> Worker:
        """Start one more worker (it does not wait for it to be ready)."""
        n = len(self.workers)
        worker = start_worker(
            self.root / f"worker-{n}.log", self.root / f"w{n}", self.database_url, self.env
        )
        self.workers.append(worker)
        return worker

    async def start_replica(self, name: str) -> LiveServer:
        """Start one more `switchboard serve` and wait until it answers."""
        # Four processes start at once here: allow a loaded CI machine more than 30 s.
        return await asyncio.to_thread(
            start_server, self.root / name, self.database_url, self.env, timeout=90
        )

    async def stop(self) -> None:
        """Stop every process, forget the job stream, close the engine."""
        for worker in self.workers:
            if worker.process.poll() is None:
                kill(worker.process)
        for server in self.replicas:
            await asyncio.to_thread(stop_server, server)
        await self.engine.dispose()
        async with Redis.from_url(self.redis_url) as redis:
            await redis.delete(f"{self.env['SWITCHBOARD_REDIS_PREFIX']}:jobs")


async def start_cluster(
    root: Path, database_url: str, redis_url: str, env: dict[str, str]
) -> Cluster:
    """Two workers and two replicas started at the same moment on `database_url` (fresh:
    all four migrate it and write their start-up rows at once)."""
    cluster = Cluster(root, database_url, redis_url, env, create_engine(database_url))
    cluster.add_worker()
    cluster.add_worker()
    started = await asyncio.gather(
        cluster.start_replica("a"), cluster.start_replica("b"), return_exceptions=True
    )
    cluster.replicas = [s for s in started if isinstance(s, LiveServer)]
    failed = [s for s in started if isinstance(s, BaseException)]
    try:
        if failed:
            raise failed[0]
        await eventually(
            lambda: all(_ready(w) for w in cluster.workers), timeout=30, what="workers to start"
        )
    except BaseException:
        await cluster.stop()
        raise
    return cluster


def _ready(worker: Worker) -> bool:
    if worker.process.poll() is not None:
        raise AssertionError(f"worker exited: {worker.text()[-2000:]}")
    return "worker_started" in worker.text()
