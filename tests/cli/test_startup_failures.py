"""Settings that cannot work stop the CLI with one line naming the setting and the fix,
exit status 2 and no traceback (which `--debug` and DEBUG logging bring back).

Every case runs the real command in a subprocess against real refusals: the machine's
PostgreSQL (a database that does not exist), closed ports, an unknown host, a fake
server refusing the password (the machine's PostgreSQL trusts loopback), Redis on a
closed port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli.fake_postgres import password_refusing_postgres
from tests.fixtures.database import BASE_DATABASE_URL
from tests.fixtures.network import refusing_port

PASSWORD = "s3cret-Pass"
# Where the tests' PostgreSQL runs (SWITCHBOARD_TEST_DATABASE_URL), else the usual place.
PG = make_url(BASE_DATABASE_URL or "postgresql://postgres@127.0.0.1:5432/postgres")
MISSING_DB = "switchboard_no_such_db"
UNKNOWN_HOST = "no-such-host.invalid"


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG.host or "127.0.0.1", PG.port or 5432), 1):
            return True
    except OSError:
        return False


needs_postgres = pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL not reachable")


def pg_url(database: str, *, host: str | None = None, port: int | None = None) -> str:
    """A `postgresql://` URL (the form people write) with a password to keep secret."""
    return (
        PG.set(
            drivername="postgresql",
            password=PASSWORD,
            database=database,
            host=host or PG.host,
            port=port or PG.port,
        )
    ).render_as_string(hide_password=False)


def switchboard(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m switchboard ARGS` with only the given settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "COLUMNS"))
    }
    clean.update({"SWITCHBOARD_DATA_DIR": str(data_dir), "SWITCHBOARD_LOG_FORMAT": "json"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused start printed (exit 2, no traceback, no password)."""
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return lines[0]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def closed_port() -> Iterator[int]:
    with refusing_port() as port:
        yield port


# -- the database ------------------------------------------------------------------------
@needs_postgres
@pytest.mark.parametrize(
    "command",
    [
        ("migrate",),
        ("serve", "--port", "1"),  # never reached: serve migrates before it listens
        ("user", "list"),
        ("apikey", "list", "--user", "ann@example.com"),
    ],
    ids=lambda c: c[0],
)
def test_missing_database_is_named_with_the_fix(data_dir: Path, command: tuple[str, ...]) -> None:
    line = refused(switchboard(data_dir, *command, SWITCHBOARD_DATABASE_URL=pg_url(MISSING_DB)))
    where = f"{PG.host}:{PG.port or 5432}"
    assert line == (
        f'SWITCHBOARD_DATABASE_URL: database "{MISSING_DB}" does not exist on {where};'
        f" create it (createdb {MISSING_DB}) or fix the URL"
    )


@needs_postgres
def test_worker_names_the_missing_database(data_dir: Path) -> None:
    # The worker needs Redis to get this far; it is checked after the database.
    line = refused(
        switchboard(
            data_dir,
            "worker",
            SWITCHBOARD_DATABASE_URL=pg_url(MISSING_DB),
            SWITCHBOARD_REDIS_URL="redis://127.0.0.1:6379/15",
        )
    )
    assert line.startswith(f'SWITCHBOARD_DATABASE_URL: database "{MISSING_DB}" does not exist')


def test_closed_port(data_dir: Path, closed_port: int) -> None:
    url = pg_url("app", host="127.0.0.1", port=closed_port)
    line = refused(switchboard(data_dir, "migrate", SWITCHBOARD_DATABASE_URL=url))
    assert line == (
        f"SWITCHBOARD_DATABASE_URL: nothing answers on 127.0.0.1:{closed_port} (connection"
        " refused); start PostgreSQL there or fix the host and port in the URL"
    )


def test_unknown_host(data_dir: Path) -> None:
    url = pg_url("app", host=UNKNOWN_HOST, port=5432)
    line = refused(switchboard(data_dir, "user", "list", SWITCHBOARD_DATABASE_URL=url))
    assert line.startswith(f'SWITCHBOARD_DATABASE_URL: the host "{UNKNOWN_HOST}" is unknown;')


def test_wrong_password(data_dir: Path) -> None:
    with password_refusing_postgres() as port:
        url = pg_url("app", host="127.0.0.1", port=port)
        line = refused(switchboard(data_dir, "migrate", SWITCHBOARD_DATABASE_URL=url))
    assert line == (
        f"SWITCHBOARD_DATABASE_URL: PostgreSQL on 127.0.0.1:{port} refused the password of user"
        f' "{PG.username}"; fix the password in the URL'
    )


def test_a_database_switchboard_does_not_run_on(data_dir: Path) -> None:
    url = f"mysql://root:{PASSWORD}@127.0.0.1/app"
    line = refused(switchboard(data_dir, "migrate", SWITCHBOARD_DATABASE_URL=url))
    assert line.startswith("SWITCHBOARD_DATABASE_URL: mysql://root:***@127.0.0.1/app is not")


def test_sqlite_file_in_a_missing_directory(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "absent" / "x.db"
    url = f"sqlite:///{path}"
    line = refused(switchboard(data_dir, "migrate", SWITCHBOARD_DATABASE_URL=url))
    assert line.startswith(f"SWITCHBOARD_DATABASE_URL: cannot open the SQLite file {path};")


# -- Redis -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [("worker",), ("serve", "--port", "1")], ids=lambda c: c[0])
def test_redis_on_a_closed_port(data_dir: Path, closed_port: int, command: tuple[str, ...]) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port}/0"
    line = refused(switchboard(data_dir, *command, SWITCHBOARD_REDIS_URL=url))
    assert line == (
        f"SWITCHBOARD_REDIS_URL: nothing answers on 127.0.0.1:{closed_port} (connection"
        " refused); start Redis there or fix the URL"
    )


def test_not_a_redis_url(data_dir: Path) -> None:
    line = refused(switchboard(data_dir, "migrate", SWITCHBOARD_REDIS_URL="http://127.0.0.1:6379"))
    assert line.startswith("SWITCHBOARD_REDIS_URL is not a Redis URL; write redis://")


# -- tracebacks on request ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "env"),
    [(("--debug",), {}), ((), {"SWITCHBOARD_LOG_LEVEL": "DEBUG"})],
    ids=["--debug", "DEBUG level"],
)
def test_debug_shows_the_traceback_then_the_line(
    data_dir: Path, closed_port: int, flags: tuple[str, ...], env: dict[str, str]
) -> None:
    url = pg_url("app", host="127.0.0.1", port=closed_port)
    done = switchboard(data_dir, *flags, "migrate", SWITCHBOARD_DATABASE_URL=url, **env)
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert "ConnectionRefusedError" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("SWITCHBOARD_DATABASE_URL: nothing")


# -- serve's own refusals ----------------------------------------------------------------
def test_unknown_faces_are_refused_before_anything_else(data_dir: Path) -> None:
    done = switchboard(data_dir, "serve", SWITCHBOARD_FACES="openai,pocketpaw,chatgpt")
    assert refused(done) == (
        "SWITCHBOARD_FACES names pocketpaw, chatgpt, which this build does not serve;"
        " the faces are: openai, pocketllm, pluginmind, switchboard, spoonfeeder,"
        " cloudtolocalllm"
    )
    assert not data_dir.exists()  # refused before preparing anything


def test_several_workers_need_redis(data_dir: Path) -> None:
    line = refused(switchboard(data_dir, "serve", "--workers", "3"))
    assert line.startswith("--workers 3 needs SWITCHBOARD_REDIS_URL: ")
    assert "live events and in-process jobs" in line
    assert "set SWITCHBOARD_REDIS_URL and run `switchboard worker`" in line
    assert not data_dir.exists()
