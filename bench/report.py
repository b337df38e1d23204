"""Turn a run's measurements into the comparison table and the target checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]  # one target's measurements: {"results": {...}, "rss": {...}}


def _get(run: Run | None, scenario: str, field: str) -> float | None:
    if not run:
        return None
    value = run.get("results", {}).get(scenario, {}).get(field)
    return None if value is None else float(value)


def _rss(run: Run | None, what: str) -> float | None:
    value = (run or {}).get("rss", {}).get(what)
    return None if value is None else float(value)


def _added(runs: dict[str, Run], name: str, scenario: str, field: str) -> float | None:
    mine, direct = _get(runs.get(name), scenario, field), _get(runs.get("direct"), scenario, field)
    return None if mine is None or direct is None else round(mine - direct, 3)


# The Spoon Feeder chat scenario of each concurrency, and the OpenAI face's it is held to.
FACE_PAIRS = (("spoonfeeder_chat_c16", "blocking_c16"), ("spoonfeeder_chat_c64", "blocking_c64"))


def _vs_openai(run: Run | None, scenario: str, field: str, how: str = "minus") -> float | None:
    """A Spoon Feeder chat scenario's `field` against the OpenAI face's blocking scenario
    of the same concurrency, same server, same run: the difference, or the ratio."""
    openai = dict(FACE_PAIRS)[scenario]
    mine, theirs = _get(run, scenario, field), _get(run, openai, field)
    if mine is None or theirs is None:
        return None
    if how == "ratio":
        return round(mine / theirs, 3) if theirs else None
    return round(mine - theirs, 3)


def _peak_rss(run: Run | None) -> float | None:
    values = [v for v in (_rss(run, "load_mb"), _rss(run, "slow_mb")) if v is not None]
    return max(values) if values else None


@dataclass(frozen=True)
class Row:
    """One line of the table: a label and how to read it from a target's run."""

    label: str
    read: Callable[[dict[str, Run], str], float | None]


def _field(scenario: str, field: str) -> Callable[[dict[str, Run], str], float | None]:
    return lambda runs, name: _get(runs.get(name), scenario, field)


def _added_field(scenario: str, field: str) -> Callable[[dict[str, Run], str], float | None]:
    return lambda runs, name: None if name == "direct" else _added(runs, name, scenario, field)


def _rss_field(what: str) -> Callable[[dict[str, Run], str], float | None]:
    return lambda runs, name: _rss(runs.get(name), what)


def _vs_openai_field(scenario: str, field: str) -> Callable[[dict[str, Run], str], float | None]:
    return lambda runs, name: _vs_openai(runs.get(name), scenario, field)


ROWS = [
    Row("blocking c1 req/s", _field("blocking_c1", "per_second")),
    Row("blocking c1 p50 ms", _field("blocking_c1", "p50_ms")),
    Row("blocking c1 p99 ms", _field("blocking_c1", "p99_ms")),
    Row("blocking c1 added p50 ms", _added_field("blocking_c1", "p50_ms")),
    Row("blocking c16 req/s", _field("blocking_c16", "per_second")),
    Row("blocking c16 p50 ms", _field("blocking_c16", "p50_ms")),
    Row("blocking c16 p99 ms", _field("blocking_c16", "p99_ms")),
    Row("blocking c64 req/s", _field("blocking_c64", "per_second")),
    Row("blocking c64 p50 ms", _field("blocking_c64", "p50_ms")),
    Row("blocking c64 p99 ms", _field("blocking_c64", "p99_ms")),
    Row("Spoon Feeder chat c16 req/s", _field("spoonfeeder_chat_c16", "per_second")),
    Row("Spoon Feeder chat c16 p50 ms", _field("spoonfeeder_chat_c16", "p50_ms")),
    Row("Spoon Feeder chat c16 p99 ms", _field("spoonfeeder_chat_c16", "p99_ms")),
    Row(
        "Spoon Feeder chat c16 added p50 vs OpenAI face ms",
        _vs_openai_field("spoonfeeder_chat_c16", "p50_ms"),
    ),
    Row("Spoon Feeder chat c64 req/s", _field("spoonfeeder_chat_c64", "per_second")),
    Row("Spoon Feeder chat c64 p50 ms", _field("spoonfeeder_chat_c64", "p50_ms")),
    Row("Spoon Feeder chat c64 p99 ms", _field("spoonfeeder_chat_c64", "p99_ms")),
    Row(
        "Spoon Feeder chat c64 added p50 vs OpenAI face ms",
        _vs_openai_field("spoonfeeder_chat_c64", "p50_ms"),
    ),
    Row("stream c16 streams/s", _field("stream_c16", "per_second")),
    Row("stream c16 TTFT p50 ms", _field("stream_c16", "ttft_p50_ms")),
    Row("stream c16 TTFT p99 ms", _field("stream_c16", "ttft_p99_ms")),
    Row("stream c16 added TTFT p50 ms", _added_field("stream_c16", "ttft_p50_ms")),
    Row("stream c16 total p50 ms", _field("stream_c16", "p50_ms")),
    Row("stream c16 total p99 ms", _field("stream_c16", "p99_ms")),
    Row("stream c64 streams/s", _field("stream_c64", "per_second")),
    Row("stream c64 TTFT p50 ms", _field("stream_c64", "ttft_p50_ms")),
    Row("stream c64 TTFT p99 ms", _field("stream_c64", "ttft_p99_ms")),
    Row("stream c64 total p50 ms", _field("stream_c64", "p50_ms")),
    Row("stream c64 total p99 ms", _field("stream_c64", "p99_ms")),
    Row("slow streams ok", _field("slow_streams", "ok")),
    Row("slow streams errors", _field("slow_streams", "errors")),
    Row("slow streams total p50 ms", _field("slow_streams", "p50_ms")),
    Row("slow streams total p99 ms", _field("slow_streams", "p99_ms")),
    Row("blocking c1 server CPU ms/request", _field("blocking_c1", "cpu_ms_per_request")),
    Row("blocking c16 server CPU ms/request", _field("blocking_c16", "cpu_ms_per_request")),
    Row("blocking c64 server CPU ms/request", _field("blocking_c64", "cpu_ms_per_request")),
    Row(
        "Spoon Feeder chat c16 server CPU ms/request",
        _field("spoonfeeder_chat_c16", "cpu_ms_per_request"),
    ),
    Row(
        "Spoon Feeder chat c64 server CPU ms/request",
        _field("spoonfeeder_chat_c64", "cpu_ms_per_request"),
    ),
    Row("stream c64 server CPU ms/request", _field("stream_c64", "cpu_ms_per_request")),
    Row("RSS idle MB", _rss_field("idle_mb")),
    Row("RSS under load MB", _rss_field("load_mb")),
    Row("RSS 1,000 slow streams MB", _rss_field("slow_mb")),
]


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def table(runs: dict[str, Run]) -> str:
    """A Markdown table: one column per target that ran."""
    names = [n for n in ("direct", "switchboard", "litellm") if n in runs]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for row in ROWS:
        cells = [_cell(row.read(runs, name)) for name in names]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def faces_table(runs: dict[str, Run], server: str = "switchboard") -> str:
    """Spoon Feeder's `POST /api/chat` beside the OpenAI face's chat completions for the
    same model on one server, per concurrency: throughput, p50 and CPU per request."""
    run = runs.get(server)
    lines = [
        "| concurrency | req/s OpenAI / /api/chat | p50 ms OpenAI / /api/chat | added p50 ms"
        " | CPU ms/request OpenAI / /api/chat | CPU ratio |",
        "|---|---|---|---|---|---|",
    ]
    for mine, openai in FACE_PAIRS:
        if _get(run, mine, "ok") is None:
            continue
        pairs = [
            f"{_cell(_get(run, openai, f))} / {_cell(_get(run, mine, f))}"
            for f in ("per_second", "p50_ms", "cpu_ms_per_request")
        ]
        added = _cell(_vs_openai(run, mine, "p50_ms"))
        ratio = _vs_openai(run, mine, "cpu_ms_per_request", "ratio")
        ratio_cell = "-" if ratio is None else f"{ratio:.2f}"
        concurrency = mine.rsplit("_c", 1)[1]
        lines.append(
            f"| {concurrency} | {pairs[0]} | {pairs[1]} | {added} | {pairs[2]} | {ratio_cell} |"
        )
    return "\n".join(lines)


# (label, how to read switchboard's value, comparison, threshold)
TARGETS: list[tuple[str, Callable[[dict[str, Run]], float | None], str, float]] = [
    (
        "added p50, blocking, c1 (ms)",
        lambda r: _added(r, "switchboard", "blocking_c1", "p50_ms"),
        "<=",
        1.5,
    ),
    (
        "added TTFT p50, 16 streams (ms)",
        lambda r: _added(r, "switchboard", "stream_c16", "ttft_p50_ms"),
        "<=",
        10,
    ),
    (
        "blocking req/s at c64",
        lambda r: _get(r.get("switchboard"), "blocking_c64", "per_second"),
        ">=",
        1000,
    ),
    (
        "streams/s at 64",
        lambda r: _get(r.get("switchboard"), "stream_c64", "per_second"),
        ">=",
        300,
    ),
    (
        "1,000 slow streams: errors",
        lambda r: _get(r.get("switchboard"), "slow_streams", "errors"),
        "<=",
        0,
    ),
    ("RSS idle (MB)", lambda r: _rss(r.get("switchboard"), "idle_mb"), "<=", 120),
    (
        "POST /api/chat added p50 vs OpenAI face, c16 (ms)",
        lambda r: _vs_openai(r.get("switchboard"), "spoonfeeder_chat_c16", "p50_ms"),
        "<=",
        0,
    ),
    (
        "POST /api/chat req/s / OpenAI face's, c64",
        lambda r: _vs_openai(r.get("switchboard"), "spoonfeeder_chat_c64", "per_second", "ratio"),
        ">=",
        1,
    ),
    (
        "POST /api/chat CPU ms/request / OpenAI face's, c64",
        lambda r: _vs_openai(
            r.get("switchboard"), "spoonfeeder_chat_c64", "cpu_ms_per_request", "ratio"
        ),
        "<=",
        1,
    ),
    (
        "RSS under load, incl. slow streams (MB)",
        lambda r: _peak_rss(r.get("switchboard")),
        "<=",
        200,
    ),
]


def target_checks(runs: dict[str, Run]) -> list[dict[str, Any]]:
    """Each target with switchboard's measured value and whether it is met."""
    checks = []
    for label, read, op, threshold in TARGETS:
        value = read(runs)
        met = None if value is None else (value <= threshold if op == "<=" else value >= threshold)
        checks.append(
            {"target": label, "op": op, "threshold": threshold, "value": value, "met": met}
        )
    return checks


def checks_table(checks: list[dict[str, Any]]) -> str:
    """A Markdown table of the target checks."""
    lines = ["| target | switchboard | met |", "|---|---|---|"]
    for check in checks:
        verdict = {True: "yes", False: "NO", None: "not measured"}[check["met"]]
        want = f"{check['op']} {check['threshold']:g}"
        lines.append(f"| {check['target']} {want} | {_cell(check['value'])} | {verdict} |")
    return "\n".join(lines)
