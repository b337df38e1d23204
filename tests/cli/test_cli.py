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


class TestQuotasAndTiers:
    def test_set_quota_unlimited_and_back_to_the_default(
        self, cli_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SWITCHBOARD_DEFAULT_MONTHLY_QUOTA", "7")
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        assert "25 analyses a month" in invoke("user", "set-quota", "ann@example.com", "25")
        assert "unlimited analyses a month" in invoke(
            "user", "set-quota", "ann@example.com", "--unlimited"
        )
        assert "7 analyses a month" in invoke("user", "set-quota", "ann@example.com", "--default")

    def test_set_quota_needs_exactly_one_choice(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        result = runner.invoke(app, ["user", "set-quota", "ann@example.com", "5", "--unlimited"])
        assert result.exit_code == 2

    def test_set_tier_changes_the_limit(self, cli_env: Path) -> None:
        invoke("user", "create", "ann@example.com", "--password", "a-long-password-1")
        assert "tier pro, 1000 analyses a month" in invoke(
            "user", "set-tier", "ann@example.com", "pro"
        )
        assert "pro" in invoke("user", "list")
        refused = runner.invoke(app, ["user", "set-tier", "ann@example.com", "gold"])
        assert refused.exit_code == 1
        assert "free, pro, premium" in refused.output


class TestNarrowTerminal:
    """At 80 columns every line fits and every id is printed whole."""

    EMAIL = "someone.with.a.rather.long.address@example-company.example"

    def lines_at_80(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
        monkeypatch.setattr(console, "_width", 80)
        return invoke(*args).splitlines()

    def test_user_list(self, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        invoke("user", "create", self.EMAIL, "--password", "a-long-password-1", "--admin")
        user_id = invoke("user", "create", "b@example.com", "--password", "a-long-password-1")
        lines = self.lines_at_80(monkeypatch, "user", "list")
        assert max(len(line) for line in lines) <= 80
        assert self.EMAIL in "\n".join(lines)
        assert user_id.split("(")[1].split(")")[0] in [line.strip() for line in lines]

    def test_apikey_list(self, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        invoke("user", "create", self.EMAIL, "--password", "a-long-password-1")
        invoke(
            "apikey", "create", "--user", self.EMAIL, "--name", "deploys from the CI runner",
            "--scopes", "chat", "--scopes", "images", "--expires-days", "30",
        )  # fmt: skip
        monkeypatch.setattr(console, "_width", 250)
        wide = invoke("apikey", "list", "--user", self.EMAIL)
        key_id = next(line.split()[1] for line in wide.splitlines() if "deploys" in line)
        lines = self.lines_at_80(monkeypatch, "apikey", "list", "--user", self.EMAIL)
        assert max(len(line) for line in lines) <= 80
        assert key_id in [line.strip() for line in lines]
        assert "deploys from the CI runner" in "\n".join(lines)


def test_rotate_reports_progress_per_key(cli_env: Path) -> None:
    # The progress bar is drawn only on a terminal; the service's callback drives it.
    from switchboard.core.providers.service import ProviderService

    seen: list[tuple[int, int]] = []
    original = ProviderService.rotate_secrets

    async def spy(self: ProviderService, progress=None) -> int:  # type: ignore[no-untyped-def]
        def record(done: int, total: int) -> None:
            seen.append((done, total))
            if progress is not None:
                progress(done, total)

        return await original(self, progress=record)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ProviderService, "rotate_secrets", spy)
        assert "Re-encrypted 0" in invoke("keys", "rotate")
    assert seen == [(0, 0)]
