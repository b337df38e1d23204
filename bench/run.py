"""`python -m bench.run`: the whole benchmark in one command.

Starts the fake upstream, then each server under test in turn (switchboard, then
LiteLLM's proxy unless `--no-litellm`), drives every scenario against it and against
the fake directly, samples resident memory, and prints and saves the comparison.
switchboard also answers Spoon Feeder's `POST /api/chat` for the same model, driven
right after the OpenAI face's blocking scenario of the same concurrency.

Placement on a 2-core machine: the server under test runs alone on core 0
(`taskset -c 0`); this driver and the fake upstream share core 1. Only one server
under test runs at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench import profile, report
from bench.load import SPOONFEEDER_CHAT, SPOONFEEDER_OK, Target, run_load, spoonfeeder_chat_body
from bench.procs import RssSampler, git_commit, tree_cpu_seconds, tree_rss_mb
from bench.servers import (
    BENCH_DIR,
    Server,
    ensure_litellm,
    start_fake,
    start_litellm,
    start_switchboard,
)

SERVER_CORE = 0
DRIVER_CORE = 1
SLOW_MODEL = "fake-c20-d50"  # 20 content chunks, one every 50 ms: about 1.2 s per stream


@dataclass(frozen=True)
class Scenario:
    """One measured load: name, streaming or not, workers, request and time bounds.

    With `path`, `body` is posted there as it is (and an answer counts when it holds
    `expect`); `only` names the servers that answer that path (others skip it).
    """

    name: str
    stream: bool
    concurrency: int
    requests: int
    seconds: float
    model: str | None = None
    timeout: float = 60.0
    path: str | None = None
    body: bytes | None = None
    expect: bytes | None = None
    only: tuple[str, ...] | None = None

    def runs_on(self, server: Server) -> bool:
        """Whether `server` answers this scenario."""
        return self.only is None or server.name in self.only


def spoonfeeder_chat(name: str, concurrency: int, requests: int, seconds: float) -> Scenario:
    """Spoon Feeder's `POST /api/chat` for the model the OpenAI face's scenarios use
    (provider `openai`, model `fake`: `openai/fake` there), switchboard only."""
    return Scenario(
        name,
        False,
        concurrency,
        requests,
        seconds,
        path=SPOONFEEDER_CHAT,
        body=spoonfeeder_chat_body("fake"),
        expect=SPOONFEEDER_OK,
        only=("switchboard",),
    )


def scenarios(quick: bool) -> list[Scenario]:
    """The throughput and latency scenarios (`quick` shrinks them to a smoke run)."""
    n, s = (0.05, 0.25) if quick else (1.0, 1.0)
    return [
        Scenario("blocking_c1", False, 1, int(4000 * n), 6 * s),
        Scenario("blocking_c16", False, 16, int(20000 * n), 8 * s),
        spoonfeeder_chat("spoonfeeder_chat_c16", 16, int(20000 * n), 8 * s),
        Scenario("blocking_c64", False, 64, int(30000 * n), 10 * s),
        spoonfeeder_chat("spoonfeeder_chat_c64", 64, int(30000 * n), 10 * s),
        Scenario("stream_c16", True, 16, int(10000 * n), 8 * s),
        Scenario("stream_c64", True, 64, int(20000 * n), 10 * s),
    ]


def slow_scenario(quick: bool) -> Scenario:
    """Many concurrent slow streams, each held about a second."""
    count = 200 if quick else 1000
    return Scenario("slow_streams", True, count, count, 90, model=SLOW_MODEL, timeout=90)


def _model(server: Server, upstream_model: str | None) -> str | None:
    if upstream_model is None:
        return None
    return f"openai/{upstream_model}" if server.name == "switchboard" else upstream_model


def endpoint(scenario: Scenario) -> dict[str, Any]:
    """`run_load`'s path, body and expectation for a scenario that names its own."""
    if scenario.path is None:
        return {}
    return {"path": scenario.path, "body": scenario.body, "expect": scenario.expect}


async def _drive(server: Server, scenario: Scenario) -> dict[str, Any]:
    target = Target(server.name, server.base_url, server.api_key, server.model)
    cpu_before = tree_cpu_seconds(server.proc.pid)
    result = await run_load(
        target,
        concurrency=scenario.concurrency,
        requests=scenario.requests,
        max_seconds=scenario.seconds,
        stream=scenario.stream,
        scenario=scenario.name,
        model=_model(server, scenario.model),
        request_timeout=scenario.timeout,
        **endpoint(scenario),
    )
    cpu_ms = (tree_cpu_seconds(server.proc.pid) - cpu_before) * 1000 / max(result.ok, 1)
    line = f"  {server.name:<12} {scenario.name:<20} ok={result.ok:<6} err={result.errors:<4}"
    print(
        f"{line} {result.per_second:>8.1f}/s p50={result.p50_ms} ttft={result.ttft_p50_ms}"
        f" cpu/req={cpu_ms:.2f}ms",
        flush=True,
    )
    for sample in result.error_samples[:2]:
        print(f"      error: {sample}", flush=True)
    return {**result.as_dict(), "cpu_ms_per_request": round(cpu_ms, 3)}


async def _warm_up(server: Server) -> None:
    warm = (
        Scenario("warm", False, 8, 400, 10),
        Scenario("warm", True, 8, 200, 10),
        spoonfeeder_chat("warm", 8, 400, 10),
    )
    target = Target(server.name, server.base_url, server.api_key, server.model)
    for scenario in (w for w in warm if w.runs_on(server)):
        await run_load(target, concurrency=scenario.concurrency, requests=scenario.requests,
                       max_seconds=scenario.seconds, stream=scenario.stream,
                       **endpoint(scenario))  # fmt: skip


async def measure(server: Server, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Warm up, sample idle memory, run every scenario, then the slow streams."""
    print(f"== {server.name} ({server.base_url})", flush=True)
    await _warm_up(server)
    await asyncio.sleep(2)
    rss: dict[str, float] = {"idle_mb": tree_rss_mb(server.proc.pid)}
    results: dict[str, Any] = {}
    with RssSampler(server.proc.pid) as sampler:
        for scenario in scenarios(args.quick):
            if scenario.runs_on(server):
                results[scenario.name] = await _drive(server, scenario)
    rss["load_mb"] = sampler.peak
    with RssSampler(server.proc.pid) as sampler:
        results["slow_streams"] = await _drive(server, slow_scenario(args.quick))
    rss["slow_mb"] = sampler.peak
    await asyncio.sleep(2)
    rss["after_mb"] = tree_rss_mb(server.proc.pid)
    run: dict[str, Any] = {"results": results, "rss": rss}
    if args.profile and server.name != "direct":
        run["profile"] = await _profile(server, args, workdir)
    return run


async def _profile(server: Server, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """py-spy over blocking c64 (both faces where there are two) and streaming c64 runs
    (not part of the figures)."""
    binary = profile.ensure_py_spy()
    if binary is None:
        return {"note": "py-spy unavailable"}
    out: dict[str, Any] = {}
    seconds = 3 if args.quick else 8
    profiled = (
        Scenario("blocking_c64", False, 64, 10**6, seconds),
        spoonfeeder_chat("spoonfeeder_chat_c64", 64, 10**6, seconds),
        Scenario("stream_c64", True, 64, 10**6, seconds),
    )
    for scenario in (p for p in profiled if p.runs_on(server)):
        raw = workdir / f"pyspy-{server.name}-{scenario.name}.txt"
        recorder = profile.start_recording(binary, server.proc.pid, seconds, raw)
        await _drive(server, scenario)
        await asyncio.to_thread(recorder.wait, 30)
        out[scenario.name] = profile.hot_spots(raw) if raw.exists() else {"note": "no samples"}
    return out


async def _with_server(
    starter: Any, args: argparse.Namespace, workdir: Path
) -> dict[str, Any] | None:
    server = await starter
    try:
        return await measure(server, args, workdir)
    finally:
        server.stop()


def _litellm(args: argparse.Namespace, workdir: Path) -> tuple[Path | None, str]:
    if args.no_litellm:
        return None, "skipped (--no-litellm)"
    print("== litellm: checking bench/.venv-litellm (installs on first run)", flush=True)
    return ensure_litellm(workdir / "litellm-install.log")


async def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every target in turn against one fake upstream."""
    runs: dict[str, Any] = {}
    notes: dict[str, str] = {}
    fake = await start_fake(workdir, DRIVER_CORE)
    try:
        runs["direct"] = await measure(fake, args, workdir)
        runs["switchboard"] = await _with_server(
            start_switchboard(workdir, fake, SERVER_CORE), args, workdir
        )
        binary, notes["litellm"] = _litellm(args, workdir)
        if binary is not None:
            try:
                runs["litellm"] = await _with_server(
                    start_litellm(binary, workdir, fake, SERVER_CORE, ("fake", SLOW_MODEL)),
                    args,
                    workdir,
                )
            except (RuntimeError, TimeoutError, OSError) as exc:
                notes["litellm"] = f"failed to run: {exc}"
    finally:
        fake.stop()
    return {"runs": runs, "notes": notes}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "placement": {"server": SERVER_CORE, "driver_and_fake": DRIVER_CORE},
    }


@contextlib.contextmanager
def _pinned_driver() -> Iterator[None]:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > DRIVER_CORE:
        os.sched_setaffinity(0, {DRIVER_CORE})
    yield


def _save(data: dict[str, Any]) -> Path:
    out_dir = BENCH_DIR / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2))
    (out_dir / "latest.json").write_text(json.dumps(data, indent=2))
    return path


def _print_summary(data: dict[str, Any]) -> None:
    print("\n" + report.table(data["runs"]))
    print("\nSpoon Feeder POST /api/chat vs the OpenAI face (switchboard, same model):")
    print(report.faces_table(data["runs"]))
    print("\nTargets (switchboard):\n" + report.checks_table(data["checks"]))
    for name, note in data["notes"].items():
        print(f"note: {name}: {note}")
    for name, run in data["runs"].items():
        for scenario, spots in (run or {}).get("profile", {}).items():
            print(f"\nhot spots, {name} {scenario} (self %):")
            for frame, pct in spots.get("self", [])[:15]:
                print(f"  {pct:5.1f}  {frame}")


def parse_args() -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description="switchboard vs direct vs LiteLLM, one run.")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument("--profile", action="store_true", help="py-spy the servers afterwards")
    return parser.parse_args()


def main() -> None:
    """Run everything, print the table, save JSON to bench/results/."""
    args = parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    commit = git_commit(BENCH_DIR.parent)  # what the servers start from
    workdir = BENCH_DIR / "results" / "last-run"  # logs, configs, data dir, profiles
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with _pinned_driver():
        measured = uvloop.run(run_all(args, workdir))
    data = {
        "started": started,
        "commit": commit,
        "quick": args.quick,
        "machine": machine(),
        **measured,
    }
    data["machine"]["loadavg_at_start"] = load_before
    data["checks"] = report.target_checks(data["runs"])
    _print_summary(data)
    print(f"\nsaved {_save(data)}")


if __name__ == "__main__":
    main()
