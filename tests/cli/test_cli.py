"""The `switchboard` command: first run, users, API keys, key rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from switchboard.cli.main import app
from switchboard.cli.runtime import console
from tests.fixtures.database import TEST_DATABASE_URL

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory on its own SQLite file (the CLI's zero-setup path)."""
    if TEST_DATABASE_URL:
        pytest.skip("the CLI's first-run path is SQLite; PostgreSQL is covered by the suite")
    data_dir = tmp_path / "data"
    for name in list(os.environ):
        if name.startswith(("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_", "GEMINI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data_dir))
    # Rich tables squeeze columns to the terminal's width. Rich reads COLUMNS when the
    # console is built (at import, and xdist workers have it set), so set the width itself.
    monkeypatch.setattr(console, "_width", 250)
    return data_dir


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


class TestFirstRun:
    def test_migrate_creates_data_dir_database_and_secret(self, cli_env: Path) -> None:
        invoke("migrate")
        assert (cli_env / "switchboard.db").exists()
        secret = cli_env / "secret_key"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert stat.S_IMODE(cli_env.stat().st_mode) == 0o700

    def test_version(self, cli_env: Path) -> None:
        assert "switchboard" in invoke("version")


class TestUsersAndKeys:
    def test_create_list_admin_delete(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        assert "ann@example.com" in invoke("user", "list")
        invoke("user", "set-admin", "ann@example.com")
        invoke("user", "delete", "ann@example.com", "--yes")
        assert "ann@example.com" not in invoke("user", "list")

    def test_duplicate_email_is_a_clean_error(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        result = runner.invoke(
            app, ["user", "create", "ANN@example.com", "--password", "a-long-password-1"]
        )
        assert result.exit_code == 1
        assert "Traceback" not in result.output

    def test_apikey_is_printed_once_and_listed_by_prefix(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        key = invoke("apikey", "create", "--user", "ann@example.com", "--name", "ci").split()[-1]
        assert key.startswith("sb-")
        listing = invoke("apikey", "list", "--user", "ann@example.com")
        assert key not in listing
        assert key.split("_")[0].removeprefix("sb-") in listing

    def test_revoke(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        invoke("apikey", "create", "--user", "ann@example.com", "--name", "ci", "--scopes", "chat")
        listing = invoke("apikey", "list", "--user", "ann@example.com")
        key_id = next(
            line.split()[1] for line in listing.splitlines() if "ci" in line and "│" in line
        )
        invoke("apikey", "revoke", key_id, "--user", "ann@example.com")
        assert "yes" in invoke("apikey", "list", "--user", "ann@example.com")


class TestKeyRotation:
    def test_rotate_reencrypts_under_the_new_key(
        self, cli_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        old, new = "o" * 40, "n" * 40
        monkeypatch.setenv("SWITCHBOARD_SECRET_KEY", old)
        invoke("migrate")
        monkeypatch.setenv("SWITCHBOARD_SECRET_KEY", f"{new},{old}")
        assert "Re-encrypted 0" in invoke("keys", "rotate")
