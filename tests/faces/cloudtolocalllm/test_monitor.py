"""The process figures behind the health answers, on a clock and counters the test moves."""

from __future__ import annotations

from pathlib import Path

from switchboard.faces.cloudtolocalllm.monitor import (
    Monitor,
    disk_used_percent,
    pool_connections,
    requests_served,
    resident_bytes,
)
from tests.fixtures.clock import ManualClock


class Counters:
    """CPU seconds and requests served, moved by hand."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.requests = 0.0


def monitor(clock: ManualClock, counters: Counters) -> Monitor:
    return Monitor(
        monotonic=clock.monotonic,
        cpu_seconds=lambda: counters.cpu,
        requests=lambda: counters.requests,
    )


def run_for(seconds: int, clock: ManualClock, counters: Counters, watched: Monitor) -> None:
    """`seconds` of one request per second, sampled every 5 s as the app's task does."""
    for second in range(1, seconds + 1):
        clock.advance(1)
        counters.requests += 1
        if second % 5 == 0:
            watched.sample()


def test_uptime_counts_from_the_start() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)

    clock.advance(90.5)

    assert watched.uptime() == 90.5


def test_a_young_app_counts_every_request_it_served() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)

    clock.advance(10)
    counters.requests += 7

    assert watched.requests_per_minute(watched.take()) == 7


def test_only_the_last_minute_is_counted() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)
    run_for(600, clock, counters, watched)  # ten minutes at 60 per minute

    assert watched.requests_per_minute(watched.take()) == 60

    clock.advance(30)  # thirty quiet seconds, unsampled: the window still moves
    assert watched.requests_per_minute(watched.take()) == 30


def test_a_baseline_older_than_a_minute_is_scaled_to_one() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)
    clock.advance(120)
    counters.requests = 240  # 2 per second, never sampled: the start is the baseline

    assert watched.requests_per_minute(watched.take()) == 120


def test_cpu_is_measured_over_the_window() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)
    clock.advance(60)
    counters.cpu = 15.0
    watched.sample()
    clock.advance(60)
    counters.cpu += 30.0

    cpu = watched.cpu_percent(watched.take())

    assert cpu is not None and round(cpu) == 50


def test_no_time_passed_is_no_cpu_figure() -> None:
    clock, counters = ManualClock(), Counters()
    watched = monitor(clock, counters)

    assert watched.cpu_percent(watched.take()) is None


def test_the_request_counter_is_the_apps_metric() -> None:
    assert requests_served() >= 0


def test_memory_is_read() -> None:
    assert resident_bytes() > 0


def test_disk_of_a_directory_not_made_yet_is_its_parents(tmp_path: Path) -> None:
    used = disk_used_percent(tmp_path / "not" / "made" / "yet")

    assert used is not None and 0 <= used <= 100
    assert used == disk_used_percent(tmp_path)


def test_a_pool_that_does_not_count_has_no_figure() -> None:
    class Counting:
        def checkedin(self) -> int:
            return 2

        def checkedout(self) -> int:
            return 3

    assert pool_connections(Counting()) == 5
    assert pool_connections(object()) is None
