"""Live figures of this server process for CloudToLocalLLM's health answers.

A `Monitor` per app, started by the face's lifespan hook, samples every few seconds the
process's CPU time and the number of HTTP requests it has finished (the Prometheus
counter every request goes through, `api.metrics.REQUESTS`). Rates are read against the
newest sample at least a minute old, so they cover the last minute (up to one sampling
interval more), and nothing is counted per request. The other figures are read when
asked: resident memory, the data directory's disk, the database pool, open streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from switchboard.api.metrics import REQUESTS
from switchboard.api.realtime.slots import stream_slots
from switchboard.core.container import AppContext

WINDOW_SECONDS = 60.0
SAMPLE_SECONDS = 5.0


def requests_served() -> float:
    """HTTP requests this process has finished (every route and status)."""
    return sum(
        sample.value
        for metric in REQUESTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


@dataclass(frozen=True, slots=True)
class Sample:
    """The process's counters at one moment."""

    at: float  # monotonic seconds
    cpu_seconds: float  # user + system CPU time of the whole process
    requests: float  # HTTP requests finished so far


class Monitor:
    """Uptime, requests per minute and CPU use of this process, from periodic samples."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        cpu_seconds: Callable[[], float] = time.process_time,
        requests: Callable[[], float] = requests_served,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self._monotonic = monotonic
        self._cpu_seconds = cpu_seconds
        self._requests = requests
        self._window = window
        self.started = monotonic()
        self._samples: deque[Sample] = deque([self.take()])

    def take(self) -> Sample:
        """The counters now (not kept)."""
        return Sample(self._monotonic(), self._cpu_seconds(), self._requests())

    def sample(self) -> None:
        """Keep the counters now, and forget what the window no longer needs."""
        latest = self.take()
        self._samples.append(latest)
        boundary = latest.at - self._window
        # One sample at or before the window's start stays: the rates' baseline.
        while len(self._samples) > 1 and self._samples[1].at <= boundary:
            self._samples.popleft()

    def uptime(self) -> float:
        """Seconds since the app started."""
        return self._monotonic() - self.started

    def requests_per_minute(self, now: Sample) -> int:
        """Requests finished in the last minute, up to `now`.

        Measured from the newest sample at least a minute old (scaled down to a minute
        when it is older); while the app is younger than a minute, all its requests.
        """
        base = self._baseline(now)
        span = now.at - base.at
        count = now.requests - base.requests
        return round(count * self._window / max(span, self._window))

    def cpu_percent(self, now: Sample) -> float | None:
        """CPU time used per wall-clock time over the same span, in percent (above 100
        when several cores work); None when no time has passed to measure over."""
        base = self._baseline(now)
        span = now.at - base.at
        if span <= 0:
            return None
        return (now.cpu_seconds - base.cpu_seconds) / span * 100

    async def run(self, interval: float = SAMPLE_SECONDS) -> None:
        """Sample every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            self.sample()

    def _baseline(self, now: Sample) -> Sample:
        boundary = now.at - self._window
        found = self._samples[0]
        for sample in self._samples:
            if sample.at > boundary:
                break
            found = sample
        return found


# The monitors of the running apps, by their context (an `AppContext` is not hashable).
_RUNNING: dict[int, Monitor] = {}
# An app served without its lifespan (no hook ran) reads figures since this module was
# loaded, which the registry does at start-up.
_PROCESS = Monitor()


def monitor_of(ctx: AppContext) -> Monitor:
    """The monitor of the app running on `ctx`."""
    return _RUNNING.get(id(ctx), _PROCESS)


@contextlib.asynccontextmanager
async def monitoring(ctx: AppContext) -> AsyncIterator[None]:
    """The face's lifespan hook: a monitor that samples for as long as the app runs."""
    monitor = Monitor()
    _RUNNING[id(ctx)] = monitor
    sampler = asyncio.create_task(monitor.run(), name="cloudtolocalllm-monitor")
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        _RUNNING.pop(id(ctx), None)


def open_streams(app: Starlette) -> int:
    """Streams open in this process, all users together (chat replies and event streams
    hold a slot of the per-user cap while they are open)."""
    return stream_slots(app).total()


def resident_bytes() -> int:
    """The process's resident memory; its peak where `/proc` is missing (macOS)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Kilobytes on Linux, bytes on macOS.
        return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def disk_used_percent(path: Path) -> float | None:
    """How full the file system holding `path` is, as `df` counts it (space reserved for
    the superuser left out); None when it has no size."""
    target = path.expanduser()
    while not target.exists() and target != target.parent:
        target = target.parent
    usage = shutil.disk_usage(target)
    usable = usage.used + usage.free
    return usage.used / usable * 100 if usable else None


def pool_connections(pool: Any) -> int | None:
    """Database connections the pool holds open (in use and idle); None for a pool that
    does not count them."""
    checked_in = getattr(pool, "checkedin", None)
    checked_out = getattr(pool, "checkedout", None)
    if not (callable(checked_in) and callable(checked_out)):
        return None
    return int(checked_in()) + int(checked_out())
