"""`python -m bench.sockets [--clients 1000] [--quick]`: Socket.IO fan-out, measured.

Starts the fake upstream and `switchboard serve` as `bench.run` does (fresh data dir,
user and API key through the CLI, server alone on core 0, this driver and the fake on
core 1), connects N python-socketio clients for the bench user (websocket transport,
`auth={"token": <API key>}`), then measures:

1. memory: the server's process tree RSS before any client, and after N idle clients
   are connected and the RSS has settled; the growth per client in KB;
2. fan-out: ROUNDS times, one `POST /api/tasks` for the bench user; for each client,
   the time from just before the POST is sent to the client's handler receiving the
   task's creation event. Per round p50/p95/p99/max and how many clients received it,
   and the same pooled over all rounds.

Dialects (`--dialect`): `spoonfeeder` (default) sockets get their principal's
`task:created` (`{task: {...}}`) without subscribing; `native` sockets must first
`subscribe` to `user:<id>` and get `job.created` (`{id, topic, type, data, at}`, `data`
the job's JSON, whose `id` is the task's).

Results go to `bench/results/sockets-latest.json` and a timestamped copy; logs and the
data directory of the last run to `bench/results/sockets-last-run/`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import uvloop

from bench import profile
from bench.load import percentile
from bench.procs import git_commit, open_files_limit, tree_cpu_seconds, tree_rss_kb
from bench.run import DRIVER_CORE, SERVER_CORE, machine
from bench.servers import BENCH_DIR, Server, start_fake, start_switchboard

RESULTS = BENCH_DIR / "results"
WORKDIR = RESULTS / "sockets-last-run"
TASK_BODY = {"name": "bench", "type": "text", "provider": "openai", "prompt": "hi"}
# Clients connecting at once: enough to connect 1,000 in seconds, few enough that the
# listen backlog and the server's one core are never the story.
CONNECT_PARALLEL = 32
# Sockets the driver and the server may need beyond the clients (logs, database, the
# upstream pool, the driver's own HTTP session).
SPARE_FILES = 1024
# Idle RSS is taken as settled once it moved by less than this over SETTLE_WINDOW samples.
SETTLE_KB = 256
SETTLE_WINDOW = 4
SETTLE_INTERVAL = 0.5
SETTLE_MAX_SECONDS = 20.0
TARGET_KB_PER_CLIENT = 50.0
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Dialect:
    """How a client learns of a new task in one Socket.IO dialect."""

    event: str
    subscribe: bool  # must join `user:<id>` first
    task_id: Callable[[Any], str | None]  # the task's id from the event's payload
    # The dialect's name to give in `auth` (`dialect`), or None to give none.
    named: str | None = None


def _native_id(data: Any) -> str | None:
    # The event stream's body: `{id, topic, type, data, at}`, `data` being the job's JSON.
    job = data.get("data") if isinstance(data, dict) else None
    return job.get("id") if isinstance(job, dict) else None


def _spoonfeeder_id(data: Any) -> str | None:
    task = data.get("task") if isinstance(data, dict) else None
    return task.get("id") if isinstance(task, dict) else None


# A socket speaks every dialect that accepts its credential unless its `auth` names one.
# Spoon Feeder clients send only their token (so they are in the native dialect too,
# where they join nothing and hear nothing); the native run names its dialect, so its
# sockets are not also auto-joined to Spoon Feeder's events (servers from before the
# dialects ignore the name).
DIALECTS = {
    "native": Dialect("job.created", True, _native_id, named="switchboard"),
    "spoonfeeder": Dialect("task:created", False, _spoonfeeder_id),
}


@dataclass
class Receipts:
    """When each client received each task's event (perf_counter seconds)."""

    clients: int
    at: dict[str, dict[int, float]] = field(default_factory=dict)
    others: int = 0  # events of any other name, all clients together
    duplicates: int = 0
    unknown: int = 0
    _all_in: dict[str, asyncio.Event] = field(default_factory=dict)

    def note(self, task_id: str | None, client: int) -> None:
        """Client `client` has the event of `task_id` now."""
        now = time.perf_counter()
        if task_id is None:
            self.unknown += 1
            return
        seen = self.at.setdefault(task_id, {})
        if client in seen:
            self.duplicates += 1
            return
        seen[client] = now
        if len(seen) >= self.clients:
            self.all_in(task_id).set()

    def all_in(self, task_id: str) -> asyncio.Event:
        """Set once every client has received `task_id`'s event."""
        return self._all_in.setdefault(task_id, asyncio.Event())


def raise_open_files(needed: int) -> tuple[int, int]:
    """Raise this process's soft limit on open files to at least `needed` (the server,
    started afterwards, inherits it); returns the (soft, hard) limits now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if hard != resource.RLIM_INFINITY and hard < needed:
            # Only a privileged process may raise the hard limit; try, else stay at it.
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
                return needed, needed
            except (ValueError, OSError):
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _ms(values: list[float]) -> dict[str, float | None]:
    def at(pct: float) -> float | None:
        found = percentile(values, pct)
        return None if found is None else round(found * 1000, 2)

    return {
        "p50_ms": at(50),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "max_ms": None if not values else round(max(values) * 1000, 2),
    }


class Bench:
    """One run: the server, the clients, and what was measured."""

    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        self.dialect = DIALECTS[args.dialect]
        if args.event:
            self.dialect = replace(self.dialect, event=args.event)
        self.receipts = Receipts(args.clients)
        self.clients: list[Any] = []  # socketio.AsyncClient (untyped)
        self.connect_errors: list[str] = []
        self.headers = {"Authorization": f"Bearer {server.api_key}"}
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )

    async def aclose(self) -> None:
        """Disconnect every client, close the sessions."""
        await asyncio.gather(
            *(c.disconnect() for c in self.clients if c.connected), return_exceptions=True
        )
        await self.http.close()

    # -- HTTP ---------------------------------------------------------------------------
    async def create_task(self) -> tuple[str, float]:
        """`POST /api/tasks`; the task's id and the seconds the POST took."""
        start = time.perf_counter()
        async with self.http.post(
            f"{self.server.base_url}/api/tasks", json=TASK_BODY, headers=self.headers
        ) as response:
            body = await response.json()
        took = time.perf_counter() - start
        if response.status != 201 or not body.get("success"):
            raise RuntimeError(f"POST /api/tasks answered {response.status}: {body}")
        return str(body["data"]["id"]), took

    async def get(self, path: str) -> Any:
        """A JSON GET on the server."""
        url = f"{self.server.base_url}{path}"
        async with self.http.get(url, headers=self.headers) as response:
            response.raise_for_status()
            return await response.json()

    async def task_status(self, task_id: str, within: float = 30.0) -> str:
        """The task's status once finished (or what it is after `within` seconds)."""
        deadline = time.perf_counter() + within
        status = "unknown"
        while time.perf_counter() < deadline:
            status = str((await self.get(f"/api/tasks/{task_id}"))["data"]["status"])
            if status in ("complete", "completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.1)
        return status

    async def user_id(self, task_id: str) -> str:
        """The bench user's id, as the native face shows it on the task's job."""
        return str((await self.get(f"/switchboard/v1/jobs/{task_id}"))["user_id"])

    # -- clients ------------------------------------------------------------------------
    async def connect_all(self, user_id: str) -> float:
        """Connect the clients, CONNECT_PARALLEL at a time; seconds it took."""
        gate = asyncio.Semaphore(CONNECT_PARALLEL)
        start = time.perf_counter()

        async def one(index: int) -> None:
            async with gate:
                try:
                    await self._connect(index, user_id)
                except Exception as exc:  # any failure is a figure, not a crash
                    if len(self.connect_errors) < 5:
                        self.connect_errors.append(f"{type(exc).__name__}: {exc}")
                    else:
                        self.connect_errors.append("")

        await asyncio.gather(*(one(i) for i in range(self.args.clients)))
        return time.perf_counter() - start

    async def _connect(self, index: int, user_id: str) -> None:
        client = socketio.AsyncClient(
            reconnection=False, http_session=self.http, handle_sigint=False
        )
        receipts, task_id = self.receipts, self.dialect.task_id

        def received(data: Any = None) -> None:
            receipts.note(task_id(data), index)

        def other(*_: Any) -> None:
            receipts.others += 1

        client.on(self.dialect.event, received)
        client.on("*", other)  # every other event: decoded all the same, counted
        self.clients.append(client)
        auth = {"token": self.server.api_key}
        if self.dialect.named is not None:
            auth["dialect"] = self.dialect.named
        await client.connect(
            self.server.base_url,
            transports=["websocket"],
            auth=auth,
            socketio_path="/socket.io",
            wait_timeout=60,
        )
        if self.dialect.subscribe:
            ack = await client.call("subscribe", {"topic": f"user:{user_id}"}, timeout=60)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"subscribe refused: {ack}")

    async def warm_socket(self, user_id: str) -> None:
        """Connect one socket (with its subscription) and close it."""
        await self._connect(-1, user_id)
        await self.clients.pop().disconnect()

    def connected(self) -> int:
        """Clients connected now."""
        return sum(1 for c in self.clients if c.connected)

    # -- measurements -------------------------------------------------------------------
    async def settled_rss_kb(self) -> tuple[int, list[int]]:
        """The server tree's RSS once it stops moving (or after SETTLE_MAX_SECONDS)."""
        samples = [tree_rss_kb(self.server.proc.pid)]
        deadline = time.perf_counter() + SETTLE_MAX_SECONDS
        while time.perf_counter() < deadline:
            await asyncio.sleep(SETTLE_INTERVAL)
            samples.append(tree_rss_kb(self.server.proc.pid))
            window = samples[-SETTLE_WINDOW:]
            if len(window) == SETTLE_WINDOW and max(window) - min(window) < SETTLE_KB:
                break
        return samples[-1], samples

    async def round(self, number: int) -> dict[str, Any]:
        """One task created; when each client heard of it."""
        pid = self.server.proc.pid
        cpu_before, driver_before = tree_cpu_seconds(pid), time.process_time()
        start = time.perf_counter()
        task_id, post_seconds = await self.create_task()
        with contextlib.suppress(TimeoutError):  # those missing are counted, not raised
            await asyncio.wait_for(
                self.receipts.all_in(task_id).wait(), timeout=self.args.round_timeout
            )
        last = time.perf_counter()
        server_cpu = tree_cpu_seconds(pid) - cpu_before
        driver_cpu = time.process_time() - driver_before
        times = list(self.receipts.at.get(task_id, {}).values())
        waits = [t - start for t in times]
        received = len(waits)
        wall = last - start
        result: dict[str, Any] = {
            "round": number,
            "received": received,
            "first_ms": round(min(waits) * 1000, 2) if waits else None,
            **_ms(waits),
            "post_ms": round(post_seconds * 1000, 2),
            "wall_ms": round(wall * 1000, 2),
            "server_cpu_ms": round(server_cpu * 1000, 2),
            "server_busy": round(server_cpu / wall, 2),
            "driver_cpu_ms": round(driver_cpu * 1000, 2),
            "driver_busy": round(driver_cpu / wall, 2),
            "_waits": waits,
        }
        print(
            f"  round {number:>2}: {received}/{self.args.clients} received,"
            f" p50 {result['p50_ms']} p99 {result['p99_ms']} max {result['max_ms']} ms,"
            f" POST {result['post_ms']} ms, CPU server {result['server_cpu_ms']}"
            f" driver {result['driver_cpu_ms']} ms",
            flush=True,
        )
        return result


def _summary(rounds: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """All rounds' receipts pooled, and the spread of the per-round figures."""
    pooled = [w for r in rounds for w in r.pop("_waits")]

    def spread(key: str) -> dict[str, float | None]:
        values = [float(r[key]) for r in rounds if r.get(key) is not None]
        if not values:
            return {"min": None, "median": None, "max": None}
        return {
            "min": min(values),
            "median": round(statistics.median(values), 2),
            "max": max(values),
        }

    return {
        "rounds": len(rounds),
        "rounds_all_received": sum(1 for r in rounds if r["received"] == clients),
        "min_received": min((r["received"] for r in rounds), default=0),
        "pooled": {"receipts": len(pooled), **_ms(pooled)},
        "over_rounds": {
            key: spread(key)
            for key in (
                "first_ms",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
                "post_ms",
                "wall_ms",
                "server_cpu_ms",
                "server_busy",
                "driver_cpu_ms",
                "driver_busy",
            )
        },
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers, measure, stop everything."""
    fake = await start_fake(WORKDIR, DRIVER_CORE)
    server: Server | None = None
    bench: Bench | None = None
    try:
        server = await start_switchboard(WORKDIR, fake, SERVER_CORE)
        bench = Bench(server, args)
        return await measure(bench)
    finally:
        if bench is not None:
            await bench.aclose()
        if server is not None:
            server.stop()
        fake.stop()


async def measure(bench: Bench) -> dict[str, Any]:
    """Warm up, idle RSS, connect, settled RSS, the rounds."""
    args, pid = bench.args, bench.server.proc.pid
    print(f"== switchboard {bench.server.base_url}, dialect {args.dialect}", flush=True)
    # Warm-up: a few tasks end to end (the route, the job, the upstream), and the id.
    warm: list[str] = []
    for _ in range(3):
        task_id, _ = await bench.create_task()
        warm.append(await bench.task_status(task_id))
    user_id = await bench.user_id(task_id)
    rss_cold = tree_rss_kb(pid)
    # One socket connected and closed first: what the first socket loads once (the
    # websocket protocol's modules, Socket.IO's server state) is not any client's share.
    await bench.warm_socket(user_id)
    await asyncio.sleep(2)
    rss_before = tree_rss_kb(pid)
    print(f"  RSS before clients: {rss_before / 1024:.1f} MB; warm-up tasks: {warm}", flush=True)
    cpu_before = tree_cpu_seconds(pid)
    connect_seconds = await bench.connect_all(user_id)
    connect_cpu = tree_cpu_seconds(pid) - cpu_before
    connected = bench.connected()
    # A round ends once every connected client has the event (or at the timeout).
    bench.receipts.clients = max(connected, 1)
    print(
        f"  connected {connected}/{args.clients} in {connect_seconds:.1f} s"
        f" ({len(bench.connect_errors)} errors {bench.connect_errors[:2]})",
        flush=True,
    )
    rss_after, samples = await bench.settled_rss_kb()
    per_client = (rss_after - rss_before) / max(connected, 1)
    print(
        f"  RSS with {connected} idle clients: {rss_after / 1024:.1f} MB,"
        f" {per_client:.1f} KB per client",
        flush=True,
    )
    recorder = _start_profile(bench) if args.profile else None
    rounds = []
    others_before = bench.receipts.others
    cpu_before, driver_before = tree_cpu_seconds(pid), time.process_time()
    for number in range(1, args.rounds + 1):
        rounds.append(await bench.round(number))
        await asyncio.sleep(args.gap)
    # Everything a task brings (its creation and the later events of its run), per task.
    per_task = {
        "server_cpu_ms": round((tree_cpu_seconds(pid) - cpu_before) * 1000 / args.rounds, 1),
        "driver_cpu_ms": round((time.process_time() - driver_before) * 1000 / args.rounds, 1),
        # The measured event and every other one each socket heard, per task.
        "events_per_socket": round(
            1 + (bench.receipts.others - others_before) / max(connected * args.rounds, 1), 2
        ),
    }
    still = bench.connected()
    fanout = {**_summary(rounds, args.clients), "cpu_per_task_all_events": per_task}
    spots = await _hot_spots(recorder)
    return {
        "dialect": args.dialect,
        "event": bench.dialect.event,
        "clients": args.clients,
        "connected": connected,
        "connected_after_rounds": still,
        "connect_errors": len(bench.connect_errors),
        "connect_error_samples": [e for e in bench.connect_errors if e][:5],
        "connect_seconds": round(connect_seconds, 2),
        "server_cpu_ms_per_connect": round(connect_cpu * 1000 / max(connected, 1), 3),
        "warm_up_task_statuses": warm,
        "rss": {
            "before_first_socket_kb": rss_cold,
            "before_kb": rss_before,
            "after_kb": rss_after,
            "settle_samples_kb": samples,
            "kb_per_client": round(per_client, 2),
            "after_rounds_kb": tree_rss_kb(pid),
        },
        "duplicates": bench.receipts.duplicates,
        "unknown_payloads": bench.receipts.unknown,
        "open_files": {
            "driver": "/".join(map(str, resource.getrlimit(resource.RLIMIT_NOFILE))),
            "server": open_files_limit(pid),
        },
        "fanout": fanout,
        "rounds": rounds,
        **({"profile": spots} if spots is not None else {}),
    }


PROFILE_FILE = WORKDIR / "pyspy-server-rounds.txt"


def _start_profile(bench: Bench) -> subprocess.Popen[bytes] | None:
    """py-spy on the server over the rounds (installed on first use; not the figures)."""
    binary = profile.ensure_py_spy()
    if binary is None:
        return None
    seconds = max(1, round(bench.args.rounds * (bench.args.gap + 0.3)))
    return profile.start_recording(binary, bench.server.proc.pid, seconds, PROFILE_FILE)


async def _hot_spots(recorder: subprocess.Popen[bytes] | None) -> dict[str, Any] | None:
    if recorder is None:
        return None
    await asyncio.to_thread(recorder.wait, 60)
    return profile.hot_spots(PROFILE_FILE) if PROFILE_FILE.exists() else {"note": "no samples"}


def checks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, each with the measured value and whether it is met."""
    fanout = data["fanout"]
    per_client, rounds = data["rss"]["kb_per_client"], fanout["rounds"]
    found = [
        ("RSS growth per idle client (KB)", per_client, "<=", TARGET_KB_PER_CLIENT),
        ("rounds where every client received", fanout["rounds_all_received"], ">=", rounds),
        ("fan-out p99, all rounds pooled (ms)", fanout["pooled"]["p99_ms"], "<=", TARGET_P99_MS),
        (
            "fan-out p99, worst round (ms)",
            fanout["over_rounds"]["p99_ms"]["max"],
            "<=",
            TARGET_P99_MS,
        ),
    ]
    out = []
    for label, value, op, threshold in found:
        met = None if value is None else (value <= threshold if op == "<=" else value >= threshold)
        out.append({"target": label, "op": op, "threshold": threshold, "value": value, "met": met})
    return out


def _print(data: dict[str, Any]) -> None:
    result = data["result"]
    fanout = result["fanout"]
    print(f"\nclients {result['connected']}/{result['clients']} ({result['dialect']} dialect)")
    rss = result["rss"]
    print(
        f"RSS {rss['before_kb'] / 1024:.1f} -> {rss['after_kb'] / 1024:.1f} MB:"
        f" {rss['kb_per_client']} KB per idle client"
    )
    pooled = fanout["pooled"]
    print(
        f"fan-out, {fanout['rounds']} rounds pooled: p50 {pooled['p50_ms']} p95 {pooled['p95_ms']}"
        f" p99 {pooled['p99_ms']} max {pooled['max_ms']} ms;"
        f" every client received in {fanout['rounds_all_received']}/{fanout['rounds']} rounds"
    )
    per_task = fanout["cpu_per_task_all_events"]
    print(
        f"CPU per task, all its events (rounds and gaps): server {per_task['server_cpu_ms']} ms,"
        f" driver {per_task['driver_cpu_ms']} ms; {per_task['events_per_socket']} events"
        " per socket"
    )
    print("over rounds (min / median / max):")
    for key, spread in fanout["over_rounds"].items():
        print(f"  {key:<28} {spread['min']} / {spread['median']} / {spread['max']}")
    for kind in ("self", "inclusive"):
        spots = result.get("profile", {}).get(kind, [])
        if spots:
            print(f"\nserver hot spots over the rounds ({kind} %):")
        for frame, pct in spots[:20]:
            print(f"  {pct:5.1f}  {frame}")
    print("\n| target | value | met |\n|---|---|---|")
    for check in data["checks"]:
        verdict = {True: "yes", False: "NO", None: "not measured"}[check["met"]]
        want = f"{check['op']} {check['threshold']:g}"
        print(f"| {check['target']} {want} | {check['value']} | {verdict} |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.sockets", description=__doc__)
    parser.add_argument("--clients", type=int, default=None, help="default 1000 (quick: 200)")
    parser.add_argument("--rounds", type=int, default=None, help="default 20 (quick: 5)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--round-timeout", type=float, default=10.0)
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="spoonfeeder")
    parser.add_argument("--event", default=None, help="the event to time, if not the dialect's")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--profile", action="store_true", help="py-spy the server's rounds")
    args = parser.parse_args(argv)
    args.clients = args.clients or (200 if args.quick else 1000)
    args.rounds = args.rounds or (5 if args.quick else 20)
    return args


def main(argv: list[str] | None = None) -> None:
    """Run, print, save JSON to bench/results/."""
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    commit = git_commit(BENCH_DIR.parent)  # what the server starts from
    limits = raise_open_files(args.clients + SPARE_FILES)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > DRIVER_CORE:
        os.sched_setaffinity(0, {DRIVER_CORE})
    result = uvloop.run(run(args))
    data: dict[str, Any] = {
        "started": started,
        "commit": commit,
        "quick": args.quick,
        "args": {k: v for k, v in vars(args).items()},
        "open_files_raised_to": list(limits),
        "machine": {**machine(), "loadavg_at_start": load_before},
        "result": result,
    }
    data["checks"] = checks(result)
    _print(data)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(data, indent=2)
    (RESULTS / f"sockets-{stamp}.json").write_text(text)
    (RESULTS / "sockets-latest.json").write_text(text)
    print(f"\nsaved {RESULTS / f'sockets-{stamp}.json'}")


if __name__ == "__main__":
    main()
