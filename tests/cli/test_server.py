"""The serving program's process set-up."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import uvicorn

from switchboard.cli import server
from switchboard.cli.http_limits import LimitedHttpToolsProtocol
from switchboard.cli.server import YOUNG_GENERATION_THRESHOLD

# Run in a child: a frozen collector is permanent for the process that froze it.
PROBE = """
import gc
from switchboard.cli.server import tune_garbage_collector
before = gc.get_freeze_count()
tune_garbage_collector()
print(before, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_tuning_freezes_start_up_objects_and_widens_the_young_generation() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    before, after, young = map(int, out)
    assert before == 0
    assert after > 1000  # at least the modules' own objects are frozen
    assert young == YOUNG_GENERATION_THRESHOLD


def test_serve_runs_uvicorn_with_the_configured_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setenv("SWITCHBOARD_SHUTDOWN_GRACE_SECONDS", "3.5")
    monkeypatch.setenv("SWITCHBOARD_HTTP_KEEPALIVE_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("SWITCHBOARD_MAX_CONNECTIONS", "50")

    server.main(["127.0.0.1", "8000", "2", "run"])

    # uvicorn's own choice ("auto") would be the unlimited HttpToolsProtocol.
    assert seen["http"] is LimitedHttpToolsProtocol
    assert seen["timeout_graceful_shutdown"] == 3.5
    assert seen["timeout_keep_alive"] == 2.5
    assert seen["limit_concurrency"] == 51  # uvicorn counts the new connection itself
    assert seen["proxy_headers"] is False
    assert seen["workers"] == 2
