"""The serving process: `switchboard serve` prepares everything, then replaces itself
with this lean program, so the server does not carry the CLI, Alembic and the
migration's memory for its whole life."""

from __future__ import annotations

import gc
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from switchboard.cli.http_limits import protocol_class
from switchboard.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

# Young-generation size of the cyclic garbage collector (CPython's default is 700).
# A request allocates a few thousand tracked objects that refcounting frees; collecting
# every 700 allocations mostly promotes objects of requests still in flight, which the
# older generations then walk again.
YOUNG_GENERATION_THRESHOLD = 10_000


def serving_app() -> FastAPI:
    """The app from the environment, with the garbage collector tuned for a long-lived
    server (each worker process calls this once)."""
    from switchboard.app import create_app_from_env

    app = create_app_from_env()
    tune_garbage_collector()
    return app


def tune_garbage_collector() -> None:
    """Freeze what start-up built and collect the young generation less often.

    After start-up the process holds about 170,000 long-lived objects: modules, classes,
    the routes and schemas of every face. Each full collection walked all of them
    (about 100 ms on the bench machine, once a second under load, with the event loop
    stopped); frozen, a full collection walks only what the requests left behind.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)


def main(argv: list[str]) -> None:
    """`python -m switchboard.cli.server HOST PORT WORKERS RELOAD`."""
    host, port, workers, reload = argv[0], int(argv[1]), int(argv[2]), argv[3] == "reload"
    # uvicorn restores this handler and raises the signal that stopped it again once it
    # has shut down: a graceful stop on SIGTERM is then a clean exit, not death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "switchboard.cli.server:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        **server_options(Settings()),
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for `settings`, besides where to listen and how many workers.

    Seconds are passed as they are configured (uvicorn's annotations say whole seconds,
    but it only hands them to the event loop's timers).
    """
    return {
        # Header limits and the head deadline, whichever parser uvicorn would pick.
        "http": protocol_class(),
        "timeout_keep_alive": settings.http_keepalive_timeout_seconds,
        # uvicorn answers 503 once it holds `limit_concurrency` connections counting the
        # new one; `max_connections` is the number served at once.
        "limit_concurrency": settings.max_connections + 1,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        "log_config": None,
        # switchboard writes its own access log (RequestContextMiddleware); uvicorn's
        # would format every request's client and path even with its logger disabled.
        "access_log": False,
        # Forwarding headers are believed from SWITCHBOARD_TRUSTED_PROXIES only, by the
        # app itself (api.middleware.TrustedProxyMiddleware), so in-process tests agree.
        "proxy_headers": False,
    }


if __name__ == "__main__":
    main(sys.argv[1:])
