"""An async load driver for chat endpoints (OpenAI's `/v1/chat/completions` by default).

Built on aiohttp (its client is several times cheaper per request than httpx's), with
bodies and headers serialized once. Every run is bounded twice: by a request count and
by a duration, whichever comes first. Loopback only: targets must be on 127.0.0.1.

Non-streaming: `concurrency` workers send requests back to back on keep-alive
connections; each latency is request start to full body read.
Streaming: the same with `"stream": true`; time to first token is request start to the
first body bytes carrying the upstream's first content token (`first`), total time is
request start to the end of the stream (which must carry `[DONE]`).
Another endpoint: `path` and a ready `body` (e.g. Spoon Feeder's `POST /api/chat`), and
`expect`, bytes every 200 answer must contain to count as a success.

Standalone: `python -m bench.load --url http://127.0.0.1:8201 --concurrency 64`, or
`... --path /api/chat --body '{"provider": "openai", ...}' --expect '"success":true'`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import aiohttp
import uvloop

CHAT_COMPLETIONS = "/v1/chat/completions"
SPOONFEEDER_CHAT = "/api/chat"
# What every Spoon Feeder success carries (`{success: true, data}`, compact JSON).
SPOONFEEDER_OK = b'"success":true'
FIRST_MARKER = b"first"
DONE_MARKER = b"[DONE]"
MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Target:
    """Where to send requests: a base URL ending before `/v1`, a key, a model name."""

    name: str
    base_url: str
    api_key: str
    model: str

    def __post_init__(self) -> None:
        host = urlsplit(self.base_url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the bench only drives loopback targets, not {host!r}")

    @property
    def url(self) -> str:
        """The chat completions URL."""
        return self.url_for(CHAT_COMPLETIONS)

    def url_for(self, path: str) -> str:
        """The URL of `path` on this target."""
        return f"{self.base_url.rstrip('/')}{path}"


@dataclass(frozen=True)
class _Call:
    """One request as every worker sends it: where, with what, and what a success holds."""

    url: str
    headers: dict[str, str]
    body: bytes
    expect: bytes | None = None


@dataclass
class Result:
    """What one scenario against one target measured (latencies in milliseconds)."""

    target: str
    scenario: str
    concurrency: int
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    per_second: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass
class _Samples:
    """Raw observations of one run."""

    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message[:300])


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def request_body(model: str, stream: bool) -> bytes:
    """A small chat request, serialized once."""
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say something short."}],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def spoonfeeder_chat_body(model: str) -> bytes:
    """Spoon Feeder's `POST /api/chat` for the operator's OpenAI and `model`, with the same
    message as `request_body`, serialized once."""
    body = {
        "provider": "openai",
        "model": model,
        "messages": [{"role": "user", "content": "Say something short."}],
    }
    return json.dumps(body).encode()


def _headers(target: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.api_key}", "Content-Type": "application/json"}


async def _blocking_once(session: aiohttp.ClientSession, call: _Call, samples: _Samples) -> None:
    start = time.perf_counter()
    async with session.post(call.url, data=call.body, headers=call.headers) as response:
        payload = await response.read()
    if response.status != 200:
        samples.fail(f"HTTP {response.status}: {payload[:200]!r}")
        return
    if call.expect is not None and call.expect not in payload:
        samples.fail(f"200 without {call.expect!r}: {payload[:200]!r}")
        return
    samples.latencies.append(time.perf_counter() - start)


async def _stream_once(session: aiohttp.ClientSession, call: _Call, samples: _Samples) -> None:
    start = time.perf_counter()
    first: float | None = None
    tail = b""
    async with session.post(call.url, data=call.body, headers=call.headers) as response:
        if response.status != 200:
            samples.fail(f"HTTP {response.status}: {(await response.read())[:200]!r}")
            return
        async for data in response.content.iter_any():
            window = tail + data
            if first is None and FIRST_MARKER in window:
                first = time.perf_counter() - start
            tail = window[-16:]
    if first is None or DONE_MARKER not in tail:
        samples.fail("stream ended without the first token or [DONE]")
        return
    samples.ttfts.append(first)
    samples.latencies.append(time.perf_counter() - start)


Once = Callable[[aiohttp.ClientSession, _Call, _Samples], Awaitable[None]]


async def _worker(
    once: Once,
    session: aiohttp.ClientSession,
    call: _Call,
    samples: _Samples,
    budget: list[int],
    deadline: float,
) -> None:
    while budget[0] > 0 and time.perf_counter() < deadline:
        budget[0] -= 1
        try:
            await once(session, call, samples)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            samples.fail(f"{type(exc).__name__}: {exc}")


async def run_load(
    target: Target,
    *,
    concurrency: int,
    requests: int,
    max_seconds: float,
    stream: bool,
    scenario: str | None = None,
    model: str | None = None,
    request_timeout: float = 60.0,
    path: str = CHAT_COMPLETIONS,
    body: bytes | None = None,
    expect: bytes | None = None,
) -> Result:
    """Send up to `requests` requests from `concurrency` workers for at most `max_seconds`.

    By default an OpenAI chat completion for `model` (the target's unless given); with
    `body`, that body as it is to `path` (`model` and `stream` then only say how to read
    the answer)."""
    call = _Call(
        url=target.url_for(path),
        headers=_headers(target),
        body=body if body is not None else request_body(model or target.model, stream),
        expect=expect,
    )
    once: Once = _stream_once if stream else _blocking_once
    samples = _Samples()
    budget = [requests]
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=request_timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, skip_auto_headers=("User-Agent",)
    ) as session:
        start = time.perf_counter()
        deadline = start + max_seconds
        workers = [
            _worker(once, session, call, samples, budget, deadline) for _ in range(concurrency)
        ]
        await asyncio.gather(*workers)
        elapsed = time.perf_counter() - start
    return _summarize(
        target, scenario or ("stream" if stream else "blocking"), concurrency, samples, elapsed
    )


def _summarize(
    target: Target, scenario: str, concurrency: int, samples: _Samples, elapsed: float
) -> Result:
    ok = len(samples.latencies)
    return Result(
        target=target.name,
        scenario=scenario,
        concurrency=concurrency,
        ok=ok,
        errors=samples.errors,
        seconds=round(elapsed, 3),
        per_second=round(ok / elapsed, 1) if elapsed else 0.0,
        p50_ms=_ms(percentile(samples.latencies, 50)),
        p99_ms=_ms(percentile(samples.latencies, 99)),
        ttft_p50_ms=_ms(percentile(samples.ttfts, 50)),
        ttft_p99_ms=_ms(percentile(samples.ttfts, 99)),
        error_samples=samples.error_samples,
    )


def main() -> None:
    """Command line entry point: one scenario against one URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8201")
    parser.add_argument("--key", default="bench")
    parser.add_argument("--model", default="fake")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--path", default=CHAT_COMPLETIONS, help="the endpoint to POST to")
    parser.add_argument("--body", default=None, help="a JSON body to send as it is")
    parser.add_argument("--expect", default=None, help="text every 200 answer must contain")
    args = parser.parse_args()
    target = Target("cli", args.url, args.key, args.model)
    result = uvloop.run(
        run_load(
            target,
            concurrency=args.concurrency,
            requests=args.requests,
            max_seconds=args.seconds,
            stream=args.stream,
            path=args.path,
            body=None if args.body is None else json.dumps(json.loads(args.body)).encode(),
            expect=None if args.expect is None else args.expect.encode(),
        )
    )
    print(json.dumps(result.as_dict(), indent=2))


if __name__ == "__main__":
    main()
