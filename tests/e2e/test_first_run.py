"""`switchboard serve` on a fresh machine: data dir, database, secrets, and it serves."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server

pytestmark = pytest.mark.e2e


def test_fresh_serve_prepares_everything_and_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    server = start_server(
        data_dir, "", {"SWITCHBOARD_DATABASE_URL": "", "SWITCHBOARD_SECRET_KEY": ""}
    )
    try:
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for name in ("secret_key", "access_token"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
        assert (data_dir / "switchboard.db").exists()
        banner = server.log.read_text()
        assert f"{server.url.replace('127.0.0.1', 'localhost')}" in banner
        assert "/docs" in banner
        assert httpx.get(server.url + "/docs").status_code == 200
        response = httpx.get(server.url + "/v1/models")
        assert response.status_code == 401
    finally:
        stop_server(server)
