"""Processes for the bench: start pinned to a core, wait until ready, measure memory, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import aiohttp


def git_commit(repo: Path) -> str | None:
    """The short commit `repo` has checked out (None outside git); the working tree may
    differ from it, which `git status` tells and this does not."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], core: int | None) -> list[str]:
    """`command` run under `taskset -c core` (unchanged when taskset is missing)."""
    if core is None or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", str(core), *command]


def start(
    command: list[str], env: dict[str, str], log: Path, core: int | None
) -> subprocess.Popen[bytes]:
    """Start `command` pinned to `core`, its output going to `log`, in its own session."""
    out = log.open("ab")
    return subprocess.Popen(
        pinned(command, core),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGINT the process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


async def wait_ready(
    url: str, proc: subprocess.Popen[bytes], within: float, headers: dict[str, str] | None = None
) -> float:
    """Poll `url` until it answers 200; return seconds waited. Raises if `proc` dies."""
    start_time = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - start_time < within:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(2)) as r:
                    if r.status == 200:
                        return time.perf_counter() - start_time
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {within:.0f}s")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _vmrss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and all its descendants, in seconds.

    Far less sensitive to other load on the machine than throughput or latency: a
    contended core stretches wall time, not the CPU each request costs.
    """
    tree = _children()
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(tree.get(current, []))
    return total / ticks


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in KB (VmRSS, so shared pages count)."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _vmrss_kb(current)
        todo.extend(tree.get(current, []))
    return total


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MB (VmRSS, so shared pages count)."""
    return round(tree_rss_kb(pid) / 1024, 1)


def open_files_limit(pid: int) -> str | None:
    """The soft and hard limits on open files of `pid`, as `/proc/<pid>/limits` says."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return f"{soft}/{hard}"
    except (OSError, ValueError):
        pass
    return None


class RssSampler:
    """Samples a process tree's RSS in the background and keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            await asyncio.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *_: object) -> None:
        self.peak = max(self.peak, tree_rss_mb(self.pid))
        if self._task:
            self._task.cancel()
