"""`switchboard worker`: a composition root that runs jobs from the Redis queue.

It builds the same context as the server (so job handlers reach the same providers,
storage and bus), then receives job ids from the Redis stream and runs them, at most
`concurrency` at a time, while sweeping like any replica (lapsed leases, lost
messages, schedules). SIGTERM or SIGINT stops it gracefully: no new deliveries, running
jobs get the shutdown grace period, then are handed back for another worker.

While it runs it heartbeats into Redis (`core.jobs.workers`). `python -m
switchboard.worker --check` is a container healthcheck: it exits 0 when a worker of this
host (the container) has a live heartbeat, 1 when none has.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import structlog

from switchboard.adapters.queue.presence import RedisWorkerPresence
from switchboard.bootstrap import build_context, prepare_data_dir
from switchboard.config import Settings
from switchboard.kit.clock import utcnow
from switchboard.migrations.runner import upgrade_to_head

log = structlog.get_logger(__name__)


class WorkerConfigError(RuntimeError):
    """The settings cannot make a worker."""


def worker_settings(settings: Settings, concurrency: int | None) -> Settings:
    """`settings` with the worker's own overrides."""
    if not settings.redis_url:
        raise WorkerConfigError(
            "switchboard worker needs SWITCHBOARD_REDIS_URL; without Redis, "
            "`switchboard serve` runs jobs itself"
        )
    if concurrency is not None:
        return settings.model_copy(update={"job_concurrency": concurrency})
    return settings


async def run_worker(settings: Settings, *, metrics_port: int | None = None) -> None:
    """Run jobs until SIGTERM or SIGINT."""
    prepare_data_dir(settings)
    ctx = build_context(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if metrics_port is not None:
        _serve_metrics(metrics_port)
    try:
        await upgrade_to_head(ctx.engine)
        ctx.recorder.start()
        await ctx.job_runtime.start(consume=True)
        log.info(
            "worker_started",
            worker_id=ctx.job_runtime.runner.options.worker_id,
            concurrency=settings.job_concurrency,
            job_types=ctx.jobs.registry.names(),
        )
        await stop.wait()
        log.info("worker_stopping")
    finally:
        await ctx.job_runtime.stop()
        await ctx.recorder.aclose()
        await ctx.bus.aclose()
        await ctx.providers.factory.aclose()
        await ctx.engine.dispose()
        log.info("worker_stopped")


def _serve_metrics(port: int) -> None:
    # Workers serve no HTTP API; job durations and retries are exposed here instead.
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")


async def live_workers_here(settings: Settings, host: str | None = None) -> list[str]:
    """The workers of `host` (this one by default) whose heartbeat is alive."""
    if not settings.redis_url:
        raise WorkerConfigError("worker heartbeats need SWITCHBOARD_REDIS_URL")
    presence = RedisWorkerPresence(settings.redis_url, prefix=settings.resolved_redis_prefix)
    try:
        alive = await presence.alive(utcnow())
    finally:
        await presence.aclose()
    host = host or socket.gethostname()
    return [worker for worker in alive if worker.rpartition(":")[0] == host]


def check(argv: list[str]) -> int:
    """`python -m switchboard.worker --check`: 0 when a worker of this host beats."""
    if argv != ["--check"]:
        print("usage: python -m switchboard.worker --check", file=sys.stderr)
        return 2
    try:
        alive = asyncio.run(live_workers_here(Settings()))
    except (ValueError, WorkerConfigError, ConnectionError) as exc:
        print(f"worker check failed: {exc}", file=sys.stderr)
        return 1
    print(f"alive: {', '.join(alive)}" if alive else "no live worker on this host")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(check(sys.argv[1:]))
