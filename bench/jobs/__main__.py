"""`python -m bench.jobs [--quick]`: the jobs benchmark, end to end. See README.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from redis import Redis

from bench.jobs.tasks import MODULE

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
RUN_DIR = RESULTS / "jobs-last-run"
SECRET = "bench-jobs-secret-key-0123456789abcdef"

TARGETS = {
    "inproc_p50_ms": 20.0,
    "redis_p50_ms": 50.0,
    "redis_jobs_per_s": 500.0,
    "event_p50_ms": 20.0,
}


# Another checkout's `src` to measure instead of this one (before/after comparisons).
OTHER_SRC: list[str] = []


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            # This checkout's src/ unless told otherwise: the venv may have another
            # checkout installed (editable), which would otherwise be what runs.
            "PYTHONPATH": os.pathsep.join([*(OTHER_SRC or [str(ROOT / "src")]), str(ROOT)]),
            "SWITCHBOARD_SECRET_KEY": SECRET,
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_EXTRA_TASK_MODULES": MODULE,
            "SWITCHBOARD_JOBS_IN_PROCESS": "on",
            **extra,
        }
    )
    return env


def run_json(command: list[str], env: dict[str, str], log: Path, timeout: float) -> Any:
    with log.open("ab") as err:
        done = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=err, timeout=timeout, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


async def fresh_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def start_worker(env: dict[str, str], log: Path, concurrency: int) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "switchboard", "worker", "--concurrency", str(concurrency)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )


def wait_started(log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "worker_started" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker did not start; see {log}")


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def machine(pg_url: str, redis_url: str) -> dict[str, Any]:
    cpu = ""
    with Path("/proc/cpuinfo").open() as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with Redis.from_url(redis_url) as redis:
        redis_version = str(redis.info("server").get("redis_version"))

    async def pg_version() -> str:
        conn = await asyncpg.connect(pg_url)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": asyncio.run(pg_version()),
        "redis": redis_version,
        "kernel": platform.release(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs")
    parser.add_argument("--quick", action="store_true", help="fewer jobs and events (~1 min)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="switchboard_bench_jobs")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="per worker")
    parser.add_argument("--only", choices=["inproc", "redis", "events"], action="append")
    parser.add_argument("--src", help="measure the switchboard package in this src/ instead")
    parser.add_argument(
        "--drain-only",
        action="store_true",
        help="Redis: measure only the drain (no latency, no throughput incl. creation)",
    )
    parser.add_argument("--drain-jobs", type=int, help="jobs in the drain (default as throughput)")
    args = parser.parse_args(argv)
    if args.src:
        OTHER_SRC.append(str(Path(args.src).resolve()))
    quick = args.quick
    latency_jobs = 100 if quick else 400
    throughput_jobs = 1000 if quick else 5000
    inproc_throughput_jobs = 500 if quick else 2000
    events = 500 if quick else 3000
    only = set(args.only or ["inproc", "redis", "events"])
    drain_jobs = args.drain_jobs or throughput_jobs
    if args.drain_only:
        only = {"redis"}

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    for old in RUN_DIR.glob("*.log"):
        old.unlink()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "src": OTHER_SRC[0] if OTHER_SRC else str(ROOT / "src"),
        "quick": quick,
        # Other work on the machine skews every figure: noted at the start and the end.
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(f"{args.pg}/postgres", args.redis),
        "settings": {
            "latency_jobs": latency_jobs,
            "throughput_jobs": throughput_jobs,
            "inproc_throughput_jobs": inproc_throughput_jobs,
            "events": events,
            "drain_jobs": drain_jobs,
            "drain_only": args.drain_only,
            "workers": args.workers,
            "concurrency": args.concurrency,
        },
    }
    scenario = [sys.executable, "-m", "bench.jobs.scenario"]

    if "inproc" in only:
        print("in-process (SQLite, memory bus, taskiq in-memory broker) ...", flush=True)
        data = RUN_DIR / f"inproc-{stamp}"
        env = base_env(SWITCHBOARD_DATA_DIR=str(data))
        report["inproc"] = run_json(
            [
                *scenario,
                "inproc",
                "--latency-jobs",
                str(latency_jobs),
                "--throughput-jobs",
                str(inproc_throughput_jobs),
            ],
            env,
            RUN_DIR / "inproc.log",
            timeout=600,
        )

    if "redis" in only:
        print(f"PostgreSQL + Redis, {args.workers} workers ...", flush=True)
        asyncio.run(fresh_database(f"{args.pg}/postgres", args.database))
        prefix = f"switchboard:bench-jobs:{secrets.token_hex(4)}"
        stream = f"{prefix}:jobs"
        env = base_env(
            SWITCHBOARD_DATA_DIR=str(RUN_DIR / f"redis-{stamp}"),
            SWITCHBOARD_DATABASE_URL=f"{args.pg.replace('postgresql://', 'postgresql+asyncpg://')}/{args.database}",
            SWITCHBOARD_REDIS_URL=args.redis,
            SWITCHBOARD_REDIS_PREFIX=prefix,
            SWITCHBOARD_JOBS_IN_PROCESS="off",
        )
        subprocess.run(
            [sys.executable, "-m", "switchboard", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        workers = []
        try:
            for n in range(args.workers):
                log = RUN_DIR / f"worker-{n}.log"
                workers.append(start_worker(env, log, args.concurrency))
            for n in range(args.workers):
                wait_started(RUN_DIR / f"worker-{n}.log")
            report["redis"] = run_json(
                [
                    *scenario,
                    "redis",
                    "--latency-jobs",
                    str(0 if args.drain_only else latency_jobs),
                    "--throughput-jobs",
                    str(0 if args.drain_only else throughput_jobs),
                    "--drain-jobs",
                    str(drain_jobs),
                    "--worker-pids",
                    ",".join(str(proc.pid) for proc in workers),
                ],
                env,
                RUN_DIR / "redis-driver.log",
                timeout=900,
            )
        finally:
            for proc in workers:
                stop_worker(proc)
            with Redis.from_url(args.redis) as redis:
                redis.delete(stream)

    if "events" in only:
        print("events across two processes (RedisBus) ...", flush=True)
        report["events"] = run_json(
            [
                sys.executable,
                "-m",
                "bench.jobs.events",
                "subscribe",
                "--url",
                args.redis,
                "--count",
                str(events),
            ],
            base_env(),
            RUN_DIR / "events.log",
            timeout=600,
        )

    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    (RESULTS / f"jobs-{stamp}.json").write_text(text)
    (RESULTS / "jobs-latest.json").write_text(text)
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    def check(value: float | None, target: float, below: bool = True) -> str:
        if value is None:
            return "-"
        ok = value < target if below else value >= target
        return "ok" if ok else "SHORT"

    rows: list[tuple[str, str, str, str]] = []
    inproc = report.get("inproc", {})
    redis = report.get("redis", {})
    events = report.get("events", {})
    latencies: list[tuple[str, Any, float | None]] = [
        ("enqueue-to-start, in-process (SQLite)", inproc.get("latency"), TARGETS["inproc_p50_ms"]),
        ("enqueue-to-start, Redis + PG, 2 workers", redis.get("latency"), TARGETS["redis_p50_ms"]),
        ("event across processes (RedisBus)", events or None, TARGETS["event_p50_ms"]),
    ]
    for label, lat, target in latencies:
        if lat:
            figures = f"p50 {lat['p50_ms']} / p95 {lat['p95_ms']} / p99 {lat['p99_ms']} ms"
            if target is not None:
                goal = f"p50 < {target:g} ms"
                rows.append((label, figures, goal, check(lat["p50_ms"], target)))
    throughputs: list[tuple[str, Any, float | None]] = [
        ("trivial jobs/s, in-process (SQLite)", inproc.get("throughput"), None),
        (
            "trivial jobs/s, Redis + PG, 2 workers (drain)",
            redis.get("drain"),
            TARGETS["redis_jobs_per_s"],
        ),
        ("trivial jobs/s, Redis + PG, 2 workers, incl. creation", redis.get("throughput"), None),
    ]
    for label, tp, target in throughputs:
        if tp:
            figures = f"{tp['jobs_per_s']} jobs/s ({tp['jobs']} in {tp['seconds']} s)"
            goal = f">= {target:g}/s" if target else "-"
            verdict = check(tp["jobs_per_s"], target, below=False) if target else "-"
            rows.append((label, figures, goal, verdict))
    width = [max(len(r[i]) for r in rows) for i in range(4)] if rows else [0] * 4
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    print(f"load average at start/end: {report.get('loadavg_start')} / {report.get('loadavg_end')}")
    print(f"results: {RESULTS / 'jobs-latest.json'}; logs: {RUN_DIR}")


if __name__ == "__main__":
    main()
