"""Issue 12, item 9: `schemathesis run --checks all` against every face passes.

The app, with every face mounted, is served for real on 127.0.0.1 and schemathesis's own
command line runs all its phases (coverage, fuzzing, stateful) and all its checks over
every operation of the app's OpenAPI document, as a signed-in user: no answer is a 5xx
but the documented 502/503/504, every status, content type and header is documented,
every response matches its schema, a request the schema allows is never refused, one it
forbids is never accepted, and a 405 lists in `Allow` exactly the documented methods.

Examples per operation are bounded and the seed is fixed, so the run is reproducible and
takes minutes. What is left out, and why, is in `schemathesis.toml` beside this file.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.app import create_app
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext
from tests.fixtures.app import make_settings
from tests.fixtures.threaded_server import serve_in_thread

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 3
# Every request of the run counts against the same user: limits that a run never meets
# (the 429s themselves are documented, and tested in tests/api/test_admission.py).
UNLIMITED = "1000000/minute"
# Operations that end the caller's session or account turn every later request into a
# 401: they run last, on their own, as another user.
ENDS_THE_SESSION = r"^/auth/logout$|^/v1/users/profile$"
# Live event streams never end by themselves; their subscriptions are tested in
# tests/api/realtime.
ENDLESS = r"^/switchboard/v1/events$"


# Two runs over 130-odd operations: about 3.5 minutes alone, twice that beside the rest of
# the suite on two busy cores.
@pytest.mark.timeout(1500)
def test_every_face_passes_all_checks(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        engine.url.render_as_string(False),
        redis_url=None,
        jobs_in_process="off",
        rate_limit_default=UNLIMITED,
        rate_limit_auth=UNLIMITED,
        switchboard_rate_limit=UNLIMITED,
        pluginmind_rate_limit=UNLIMITED,
    )
    app = create_app(settings)
    ctx: AppContext = app.state.ctx
    with serve_in_thread(app, name="schemathesis") as server:

        def token_of(email: str) -> str:
            signed_in = asyncio.run_coroutine_threadsafe(_sign_in(ctx, email), server.loop)
            return signed_in.result(timeout=30)

        main = _schemathesis(
            server.url,
            token_of("fuzz@example.com"),
            tmp_path,
            "--exclude-path-regex",
            f"{ENDS_THE_SESSION}|{ENDLESS}",
        )
        last = _schemathesis(
            server.url,
            token_of("last@example.com"),
            tmp_path,
            "--include-path-regex",
            ENDS_THE_SESSION,
        )
    for run in (main, last):
        assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:]
        # Every selected operation was tested (none skipped as unreadable or unreachable).
        selected = re.search(r"Selected: (\d+)/\d+", run.stdout)
        tested = re.search(r"Tested: (\d+)", run.stdout)
        assert selected and tested, run.stdout[-2000:]
        assert tested.group(1) == selected.group(1), run.stdout[-2000:]
    # Together the two runs cover the document but the endless event stream.
    assert _count(main, "Tested") + _count(last, "Tested") == _count(main, "Selected", 2) - 1


def _schemathesis(
    url: str, token: str, where: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """One `schemathesis run` over the app's document: every check is on by default
    (`--checks all` would also override the narrow exclusions of `CONFIG`)."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "1",
        "--workers",
        "1",
        *extra,
    ]
    return subprocess.run(
        command, cwd=where, capture_output=True, text=True, timeout=700, check=False
    )


def _count(run: subprocess.CompletedProcess[str], label: str, group: int = 1) -> int:
    """A number of the run's summary (`Selected: 69/74`: group 1 is 69, group 2 is 74)."""
    found = re.search(rf"{label}: (\d+)(?:/(\d+))?", run.stdout)
    assert found is not None, run.stdout[-2000:]
    return int(found.group(group))


async def _sign_in(ctx: AppContext, email: str) -> str:
    async with ctx.unit_of_work() as uow:
        services = ctx.services(uow)
        user = await services.accounts.create_user(
            UserCreate(email=email, password="a-long-password-123")
        )
        pair = await services.accounts.start_session(user.id)
        return pair.access_token
