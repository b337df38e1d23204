"""`switchboard serve` on a fresh machine: data dir, database, secrets, the banner with
the next step, and only the faces asked for."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server

pytestmark = pytest.mark.e2e

ZERO_SETUP = {"SWITCHBOARD_DATABASE_URL": "", "SWITCHBOARD_SECRET_KEY": ""}
NEXT_STEP = "Next: create a user: switchboard user create EMAIL"


def test_fresh_serve_prepares_everything_and_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    server = start_server(data_dir, "", ZERO_SETUP)
    try:
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600
        # Nothing accepts a master token yet: serve neither makes nor advertises one.
        assert not (data_dir / "access_token").exists()
        assert (data_dir / "switchboard.db").exists()
        banner = server.log.read_text()
        assert "token" not in banner.split('{"')[0].lower()
        base = server.url.replace("127.0.0.1", "localhost")
        assert f"switchboard 0.1.0 on {base}" in banner
        assert f"API docs:       {base}/docs" in banner
        # Names padded to the longest one's width (cloudtolocalllm).
        assert f"  {'openai':<15}  {base}/v1\n" in banner
        assert f"  {'pluginmind':<15}  {base}/\n" in banner
        assert f"  {'switchboard':<15}  {base}/switchboard/v1, {base}/socket.io\n" in banner
        assert f"  {'spoonfeeder':<15}  {base}/api, {base}/socket.io\n" in banner
        assert "Migrating the database 1/" in banner
        assert NEXT_STEP in banner
        assert httpx.get(server.url + "/docs").status_code == 200
        response = httpx.get(server.url + "/v1/models")
        assert response.status_code == 401
    finally:
        stop_server(server)


def test_the_next_step_is_shown_until_someone_has_an_account(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stop_server(start_server(data_dir, "", ZERO_SETUP))  # the owner exists now
    again = start_server(data_dir, "", ZERO_SETUP)
    stop_server(again)
    second = again.log.read_text()
    assert NEXT_STEP in second
    assert "Database:       up to date" in second
    created = subprocess.run(
        [sys.executable, "-m", "switchboard", "user", "create", "ann@example.com",
         "--password", "a-long-password-1"],
        env={"SWITCHBOARD_DATA_DIR": str(data_dir), "PATH": ""},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    third = start_server(data_dir, "", ZERO_SETUP)
    stop_server(third)
    assert "Next:" not in third.log.read_text()


def test_only_the_faces_asked_for_are_mounted_and_listed(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "two", "", {**ZERO_SETUP, "SWITCHBOARD_FACES": "openai,pluginmind"}
    )
    try:
        assert httpx.get(server.url + "/").json()["faces"] == ["openai", "pluginmind"]
        log = server.log.read_text()
        faces = [line.split()[0] for line in log.split("Faces:\n")[1].splitlines()[:3]]
        assert faces == ["openai", "pluginmind", "Next:"]
        assert '"faces":["openai","pluginmind"]' in log  # the start-up log line
        assert httpx.get(server.url + "/switchboard/v1/jobs").status_code == 404
    finally:
        stop_server(server)
