"""One process of the bench that creates jobs and measures them (run by `bench.jobs`).

`python -m bench.jobs.scenario inproc|redis ...` reads its settings from SWITCHBOARD_*
like any switchboard process, logs JSON to stderr (the orchestrator sends it to a file)
and prints one JSON object on stdout. `inproc` runs the jobs in this process (taskiq's
in-memory broker, as `switchboard serve` without Redis); `redis` only sends them, to
the `switchboard worker` processes the orchestrator started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bench.jobs import measure
from switchboard.bootstrap import build_context, prepare_data_dir
from switchboard.config import Settings
from switchboard.logs import configure_logging
from switchboard.migrations.runner import upgrade_to_head


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    configure_logging(settings.log_level, "json")
    prepare_data_dir(settings)
    ctx = build_context(settings)
    try:
        await upgrade_to_head(ctx.engine)
        if args.mode == "inproc":
            await ctx.job_runtime.start(consume=True)
        else:
            await ctx.job_runtime.transport.start(None)  # send only: the workers run them
        user_id = await measure.make_user(ctx)
        # Warm-up: connections, caches, the workers' first claims.
        await measure.latency(ctx, user_id, 10, args.gap)
        result: dict[str, Any] = {}
        if args.latency_jobs:
            result["latency"] = await measure.latency(ctx, user_id, args.latency_jobs, args.gap)
        if args.drain_jobs and args.worker_pids:
            pids = [int(p) for p in args.worker_pids.split(",")]
            result["drain"] = await measure.drain(ctx, user_id, args.drain_jobs, args.batch, pids)
        if args.throughput_jobs:
            result["throughput"] = await measure.throughput(
                ctx, user_id, args.throughput_jobs, args.batch
            )
        return result
    finally:
        await ctx.job_runtime.stop()
        await ctx.bus.aclose()
        await ctx.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs.scenario")
    parser.add_argument("mode", choices=["inproc", "redis"])
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.03)
    parser.add_argument("--throughput-jobs", type=int, default=0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--drain-jobs", type=int, default=0)
    parser.add_argument("--worker-pids", default="", help="comma-separated, for --drain-jobs")
    result = asyncio.run(run(parser.parse_args(argv)))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
