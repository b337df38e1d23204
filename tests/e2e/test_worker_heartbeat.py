"""`switchboard worker` heartbeats into Redis under its prefix while it runs, the
container healthcheck (`python -m switchboard.worker --check`) sees it, and a graceful
stop removes the heartbeat at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.adapters.queue.presence import RedisWorkerPresence
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import new_id
from tests.fixtures.app import TEST_SECRET
from tests.fixtures.database import available_redis_url
from tests.fixtures.waiting import eventually

REDIS_URL = available_redis_url()
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(REDIS_URL is None, reason="no Redis answers")]


@pytest.fixture
async def env(tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[dict[str, str]]:
    assert REDIS_URL is not None
    prefix = f"switchboard:e2e:{new_id()}"
    values = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    values.update(
        {
            "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
            "SWITCHBOARD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SWITCHBOARD_REDIS_URL": REDIS_URL,
            "SWITCHBOARD_REDIS_PREFIX": prefix,
            "SWITCHBOARD_SECRET_KEY": TEST_SECRET,
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_JOB_SHUTDOWN_GRACE_SECONDS": "1",
        }
    )
    yield values
    async with Redis.from_url(REDIS_URL) as redis:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


CHECKS = (
    [sys.executable, "-m", "switchboard.worker", "--check"],  # the lean container check
    [sys.executable, "-m", "switchboard", "worker", "--check"],  # the CLI's spelling
)


def check(env: dict[str, str]) -> int:
    """The exit status of the container healthcheck, which both spellings agree on."""
    codes = {
        subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, timeout=30, check=False
        ).returncode
        for command in CHECKS
    }
    assert len(codes) == 1, f"the two spellings of the check disagree: {codes}"
    return codes.pop()


async def test_a_worker_heartbeats_until_it_stops(tmp_path: Path, env: dict[str, str]) -> None:
    assert REDIS_URL is not None
    presence = RedisWorkerPresence(REDIS_URL, prefix=env["SWITCHBOARD_REDIS_PREFIX"])
    assert check(env) == 1  # nothing runs yet
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        await eventually(
            lambda: "worker_started" in log.read_text(), timeout=30, what="the worker to start"
        )
        # The first beat is written before `worker_started` is logged.
        assert await presence.alive(utcnow()) == [f"{socket.gethostname()}:{worker.pid}"]
        assert check(env) == 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert await presence.alive(utcnow()) == []
        assert check(env) == 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        await presence.aclose()
