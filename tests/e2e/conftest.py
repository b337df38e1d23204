"""A real `switchboard serve` process on a loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from switchboard.bootstrap import build_context
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from tests.fixtures.app import TEST_SECRET, User, make_settings
from tests.fixtures.database import TEST_REDIS_URL
from tests.fixtures.network import free_port
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.waiting import wait_until


@dataclass
class LiveServer:
    """A running server and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    database_url: str
    log: Path

    async def user(self, email: str, scopes: list[str] | None = None) -> User:
        """Create a user with an API key and an access token, in the server's database."""
        ctx = build_context(make_settings(self.data_dir, self.database_url))
        try:
            async with ctx.unit_of_work() as uow:
                accounts = ctx.services(uow).accounts
                created = await accounts.create_user(
                    UserCreate(email=email, password="a-long-password-123")
                )
                creator = Principal(user_id=created.id, email=created.email)
                key = await accounts.create_api_key(creator, name="e2e", scopes=scopes)
                pair = await accounts.start_session(created.id)
        finally:
            await ctx.engine.dispose()
        return User(created.id, created.email, key.key, pair.access_token)


def start_server(
    data_dir: Path, database_url: str, extra_env: dict[str, str], *, timeout: float = 30
) -> LiveServer:
    """Start `python -m switchboard serve` and wait (up to `timeout` s) until it answers."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GROQ_", "OLLAMA_")
        )
    }
    env.update(
        {
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_SECRET_KEY": TEST_SECRET,
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_USAGE_FLUSH_INTERVAL_SECONDS": "0.05",
            **({"SWITCHBOARD_REDIS_URL": TEST_REDIS_URL} if TEST_REDIS_URL else {}),
            **extra_env,
        }
    )
    env = {k: v for k, v in env.items() if v != ""}  # an empty value means "leave unset"
    # The log lives beside the data directory: the server must create that itself.
    log = data_dir.with_name(data_dir.name + ".log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    # One client for every poll: a new client per poll costs a starting server CPU.
    poller = httpx.Client(timeout=1)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            return poller.get(f"{url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=timeout, what="the server to answer /healthz")
    except AssertionError:
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}") from None
    finally:
        poller.close()
    return LiveServer(url, process, data_dir, database_url, log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_url: str,
    openai_upstream_server: FakeUpstream,
) -> Iterator[LiveServer]:
    """One server per test module, with the fake OpenAI upstream as the operator's OpenAI."""
    server = start_server(
        tmp_path_factory.mktemp("live"),
        migrated_url,
        {"OPENAI_API_KEY": OPENAI_TEST_KEY, "OPENAI_BASE_URL": openai_upstream_server.url + "/v1"},
    )
    yield server
    stop_server(server)
