"""Interleaved A/B: two source trees of switchboard, side by side on one fake upstream.

On a shared machine the speed of the same code moves by 20-50% from one minute to the
next, so two full runs taken minutes apart cannot tell a 10% change. This starts both
servers at once (each alone on core 0 with its own data directory, the fake upstream and
the driver on core 1), then drives them in alternating slices, A B B A A B ..., so both
see the same machine. It reports the server CPU per request of each slice and the median
of the per-slice ratios B/A, the figure to read.

    python -m bench.ab /path/to/old/src /path/to/new/src --scenario stream_c16 --slices 20

Each path is a `src` directory (e.g. of a `git worktree`); it is put first on the
server's PYTHONPATH, so the venv's dependencies are shared and only switchboard differs.
With `--b-scenario`, B is driven with another scenario than A: the same tree twice then
compares two endpoints, e.g. Spoon Feeder's chat against the OpenAI face's:

    python -m bench.ab src src --scenario blocking_c16 --b-scenario spoonfeeder_chat_c16
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from pathlib import Path

import uvloop

from bench.load import Target, run_load
from bench.procs import tree_cpu_seconds
from bench.run import DRIVER_CORE, SERVER_CORE, Scenario, endpoint, spoonfeeder_chat
from bench.servers import BENCH_DIR, Server, start_fake, start_switchboard

SLICE_SECONDS = 30
# Each scenario's `requests` is one slice's.
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("stream_c16", True, 16, 400, SLICE_SECONDS),
        Scenario("blocking_c64", False, 64, 600, SLICE_SECONDS),
        Scenario("blocking_c16", False, 16, 600, SLICE_SECONDS),
        Scenario("blocking_c1", False, 1, 300, SLICE_SECONDS),
        spoonfeeder_chat("spoonfeeder_chat_c16", 16, 600, SLICE_SECONDS),
        spoonfeeder_chat("spoonfeeder_chat_c64", 64, 600, SLICE_SECONDS),
    )
}


async def _start(src: str, workdir: Path, fake: Server) -> Server:
    os.environ["PYTHONPATH"] = src  # read by start_switchboard's environment
    return await start_switchboard(workdir, fake, SERVER_CORE)


async def _slice(target: Target, pid: int, scenario: Scenario) -> tuple[float, float | None]:
    """CPU ms per completed request, and the p50 (TTFT p50 when streaming)."""
    before = tree_cpu_seconds(pid)
    result = await run_load(
        target,
        concurrency=scenario.concurrency,
        requests=scenario.requests,
        max_seconds=scenario.seconds,
        stream=scenario.stream,
        **endpoint(scenario),
    )
    cpu_ms = (tree_cpu_seconds(pid) - before) * 1000 / max(result.ok, 1)
    if result.errors:
        print(f"  {target.name} {scenario.name}: {result.errors} errors {result.error_samples[:1]}")
    return cpu_ms, result.ttft_p50_ms if scenario.stream else result.p50_ms


async def compare(old: str, new: str, scenario: str, slices: int, b_scenario: str | None) -> None:
    """Run both trees side by side and print the comparison."""
    workdir = BENCH_DIR / "results" / "ab"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    plans = (SCENARIOS[scenario], SCENARIOS[b_scenario or scenario])
    fake = await start_fake(workdir, DRIVER_CORE)
    servers: list[Server] = []
    try:
        for name, src in (("a", old), ("b", new)):
            (workdir / name).mkdir()
            servers.append(await _start(src, workdir / name, fake))
        targets = [Target(s.name, s.base_url, s.api_key, s.model) for s in servers]
        for target, plan in zip(targets, plans, strict=True):  # warm up
            await run_load(
                target,
                concurrency=8,
                requests=600,
                max_seconds=10,
                stream=plan.stream,
                **endpoint(plan),
            )
        cpu: list[list[float]] = [[], []]
        latency: list[list[float]] = [[], []]
        for k in range(slices):
            for i in (0, 1) if k % 2 == 0 else (1, 0):
                cpu_ms, p50 = await _slice(targets[i], servers[i].proc.pid, plans[i])
                cpu[i].append(cpu_ms)
                latency[i].append(p50 or 0.0)
        for name, src, i in (("A", old, 0), ("B", new, 1)):
            label = "TTFT p50" if plans[i].stream else "p50"
            print(
                f"{name} {src} ({plans[i].name}): CPU ms/request median"
                f" {statistics.median(cpu[i]):.3f}, {label} median"
                f" {statistics.median(latency[i]):.2f} ms"
            )
        ratios = [b / a for a, b in zip(cpu[0], cpu[1], strict=True)]
        print(f"B/A CPU per request, median of {slices} slices: {statistics.median(ratios):.3f}")
        print("per slice:", " ".join(f"{r:.2f}" for r in ratios))
        added = [b - a for a, b in zip(latency[0], latency[1], strict=True)]
        print(f"B-A p50 ms, median of {slices} slices: {statistics.median(added):.3f}")
    finally:
        for server in servers:
            server.stop()
        fake.stop()


def main() -> None:
    """`python -m bench.ab OLD_SRC NEW_SRC [--scenario S] [--b-scenario S] [--slices N]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the A tree's src directory")
    parser.add_argument("new", help="the B tree's src directory")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="stream_c16")
    parser.add_argument(
        "--b-scenario", choices=sorted(SCENARIOS), default=None, help="B's, if not A's"
    )
    parser.add_argument("--slices", type=int, default=16, help="slices per tree")
    args = parser.parse_args()
    uvloop.run(compare(args.old, args.new, args.scenario, args.slices, args.b_scenario))


if __name__ == "__main__":
    main()
