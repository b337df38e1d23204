"""SWITCHBOARD_ENV=production (issue 12, item 2): no local trust, an explicit secret key,
no /docs unless ENABLE_SWAGGER_DOCS asks for it; and the refusals explain themselves,
down to `switchboard serve`'s one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from switchboard.api.auth import AuthChain, Bearer, LocalTrust
from switchboard.bootstrap import SECRET_KEY_FILE, ConfigError, build_context, secret_keys
from switchboard.config import Settings
from tests.api.test_auth_chains import call, error_of
from tests.fixtures.app import Harness
from tests.fixtures.network import free_port

StartApp = Callable[..., Awaitable[Harness]]
ROOT = Path(__file__).resolve().parents[1]


def test_local_trust_on_is_refused_at_start(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(env="production", local_trust="on")
    with pytest.raises(
        ConfigError, match="SWITCHBOARD_LOCAL_TRUST=on is refused when SWITCHBOARD_ENV=production"
    ):
        build_context(settings)


async def test_local_trust_auto_is_off_even_on_loopback(harness_factory: StartApp) -> None:
    chain = AuthChain(Bearer(), LocalTrust())
    development = await harness_factory(listen_host="127.0.0.1")
    status, body = await call(development, chain, base_url="http://127.0.0.1:8000")
    assert (status, body["is_owner"]) == (200, True)
    production = await harness_factory(env="production", listen_host="127.0.0.1")
    assert not production.ctx.options.local_trust
    status, body = await call(production, chain, base_url="http://127.0.0.1:8000")
    assert (status, error_of(body)[0]) == (401, "missing_credentials")


def test_an_explicit_secret_key_is_required(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory(env="production", secret_key=[])
    with pytest.raises(ConfigError) as refused:
        build_context(settings)
    message = str(refused.value)
    assert "SWITCHBOARD_ENV=production needs SWITCHBOARD_SECRET_KEY" in message
    assert "secrets.token_urlsafe(48)" in message  # how to make one
    assert not (tmp_path / "data" / SECRET_KEY_FILE).exists()  # none generated instead


def test_development_still_generates_a_key(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory(secret_key=[])
    assert secret_keys(settings) == [(tmp_path / "data" / SECRET_KEY_FILE).read_text().strip()]


@pytest.mark.parametrize(
    ("env", "swagger", "shown"),
    [
        ("development", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
async def test_docs_are_hidden_in_production_unless_asked_for(
    harness_factory: StartApp, env: str, swagger: bool | None, shown: bool
) -> None:
    harness = await harness_factory(env=env, enable_swagger_docs=swagger)
    docs = await harness.client.get("/docs")
    schema = await harness.client.get("/openapi.json")
    root = await harness.client.get("/")
    assert (docs.status_code == 200) is shown
    assert schema.status_code == 200  # the schema stays: clients generate code from it
    assert root.json()["docs"] == ("/docs" if shown else None)


def test_the_swagger_switch_is_read_under_its_documented_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    assert not Settings().docs_enabled
    monkeypatch.setenv("ENABLE_SWAGGER_DOCS", "true")
    assert Settings().docs_enabled


def test_serve_refuses_in_one_line(tmp_path: Path) -> None:
    """`switchboard serve` in production without a secret key: one line, no traceback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GROQ_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "SWITCHBOARD_ENV": "production",
            "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
            "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sb.db'}",
            "SWITCHBOARD_LOG_FORMAT": "json",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any("SWITCHBOARD_ENV=production needs SWITCHBOARD_SECRET_KEY" in line for line in lines)
