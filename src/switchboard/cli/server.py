"""The serving process: `switchboard serve` prepares everything, then replaces itself
with this lean program, so the server does not carry the CLI, Alembic and the
migration's memory for its whole life."""

from __future__ import annotations

import sys

import uvicorn


def main(argv: list[str]) -> None:
    """`python -m switchboard.cli.server HOST PORT WORKERS RELOAD`."""
    host, port, workers, reload = argv[0], int(argv[1]), int(argv[2]), argv[3] == "reload"
    uvicorn.run(
        "switchboard.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        log_config=None,
        proxy_headers=False,
        h11_max_incomplete_event_size=64 * 1024,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
