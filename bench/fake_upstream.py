"""A minimal, very fast OpenAI-compatible fake upstream for benchmarks.

Raw asyncio protocol on uvloop with httptools parsing: no framework, no JSON decoding
of the request beyond two fields, pre-rendered response bodies. It is meant to cost
far less CPU than anything it is compared with, so that the load driver and the proxy
under test are what the figures measure.

Endpoints:
- `GET /v1/models`: one model, `fake`.
- `POST /v1/chat/completions`: blocking JSON, or SSE when the body says `"stream": true`
  (a role chunk, N content chunks, a finish chunk, a usage chunk, `[DONE]`).

The model name chooses the stream's shape: `fake` uses the server's defaults
(`--chunks`, `--delay-ms`); `fake-c<N>-d<MS>` asks for N content chunks with MS
milliseconds between them (e.g. `fake-c10-d50`). Everything else answers as `fake`.

Run: `python -m bench.fake_upstream --port 8201` (pin it with `taskset -c 1`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass

import httptools
import uvloop

CREATED = 1_700_000_000
FIRST_TOKEN = "first"
_MODEL_RE = re.compile(rb'"model"\s*:\s*"([^"]*)"')
_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_SHAPE_RE = re.compile(r"-c(\d+)-d(\d+)$")
_REASONS = {200: b"OK", 404: b"Not Found", 400: b"Bad Request"}


@dataclass(frozen=True)
class Shape:
    """How a stream is cut: content chunks and the pause between them."""

    chunks: int
    delay: float


def shape_for(model: str, default: Shape) -> Shape:
    """The stream shape that `model` asks for (`fake-c<N>-d<MS>`), else `default`."""
    match = _SHAPE_RE.search(model)
    if not match:
        return default
    return Shape(chunks=max(1, int(match.group(1))), delay=int(match.group(2)) / 1000)


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def completion_body(model: str) -> bytes:
    """A blocking chat completion."""
    return _json(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"{FIRST_TOKEN} fake reply"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11},
        }
    )


def _chunk(model: str, delta: dict[str, object], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [choice],
    }
    return b"data: " + _json(body) + b"\n\n"


def stream_events(model: str, chunks: int) -> list[bytes]:
    """Every SSE event of one stream, in order (the first content chunk is `first`)."""
    events = [_chunk(model, {"role": "assistant", "content": ""})]
    events += [
        _chunk(model, {"content": f"{FIRST_TOKEN} " if i == 0 else f"t{i} "}) for i in range(chunks)
    ]
    events.append(_chunk(model, {}, "stop"))
    usage = {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks}
    usage_chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [],
        "usage": usage,
    }
    events.append(b"data: " + _json(usage_chunk) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


MODELS_BODY = _json(
    {
        "object": "list",
        "data": [{"id": "fake", "object": "model", "created": CREATED, "owned_by": "bench"}],
    }
)


def _head(status: int, ctype: bytes, length: int | None) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"OK")), b"content-type: " + ctype]
    if length is None:
        lines.append(b"transfer-encoding: chunked")
    else:
        lines.append(b"content-length: %d" % length)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Caches:
    """Pre-rendered bodies, keyed by model and shape."""

    def __init__(self) -> None:
        self.blocking: dict[str, bytes] = {}
        self.streams: dict[tuple[str, int], list[bytes]] = {}

    def blocking_response(self, model: str) -> bytes:
        cached = self.blocking.get(model)
        if cached is None:
            body = completion_body(model)
            cached = self.blocking[model] = _head(200, b"application/json", len(body)) + body
        return cached

    def stream(self, model: str, chunks: int) -> list[bytes]:
        key = (model, chunks)
        cached = self.streams.get(key)
        if cached is None:
            cached = self.streams[key] = [_http_chunk(e) for e in stream_events(model, chunks)]
        return cached


class FakeProtocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, default: Shape, caches: _Caches) -> None:
        self._default = default
        self._caches = caches
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._queue: asyncio.Queue[tuple[bytes, bytes, bytes]] | None = None
        self._worker: asyncio.Task[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._respond_simple(400, b"bad request")
            if self._transport:
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._worker:
            self._worker.cancel()

    # -- httptools callbacks -----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method()
        body = b"".join(self._body)
        if self._queue is not None:  # a stream is still running: answer in order
            self._queue.put_nowait((method, self._url, body))
            return
        self._handle(method, self._url, body)

    # -- routing -----------------------------------------------------------------------
    def _handle(self, method: bytes, url: bytes, body: bytes) -> None:
        path = url.split(b"?", 1)[0]
        if path == b"/v1/models" and method == b"GET":
            self._respond_simple(200, MODELS_BODY, b"application/json")
        elif path == b"/v1/chat/completions" and method == b"POST":
            self._chat(body)
        else:
            self._respond_simple(404, b'{"error":{"message":"not found"}}', b"application/json")

    def _chat(self, body: bytes) -> None:
        match = _MODEL_RE.search(body)
        model = match.group(1).decode() if match else "fake"
        if not _STREAM_RE.search(body):
            self._write(self._caches.blocking_response(model))
            return
        shape = shape_for(model, self._default)
        events = self._caches.stream(model, shape.chunks)
        if shape.delay <= 0:
            self._write(_head(200, b"text/event-stream", None) + b"".join(events) + b"0\r\n\r\n")
            return
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(
            self._slow_stream(events, shape.delay)
        )

    async def _slow_stream(self, events: list[bytes], delay: float) -> None:
        self._write(_head(200, b"text/event-stream", None) + events[0])
        for event in events[1:]:
            await asyncio.sleep(delay)
            self._write(event)
        self._write(b"0\r\n\r\n")
        queue, self._queue, self._worker = self._queue, None, None
        while queue is not None and not queue.empty() and self._queue is None:
            self._handle(*queue.get_nowait())

    def _respond_simple(self, status: int, body: bytes, ctype: bytes = b"text/plain") -> None:
        self._write(_head(status, ctype, len(body)) + body)

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


async def serve(host: str, port: int, default: Shape) -> None:
    """Serve until cancelled."""
    caches = _Caches()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FakeProtocol(default, caches), host, port, backlog=4096, reuse_address=True
    )
    print(f"fake upstream on http://{host}:{port} at {time.strftime('%X')}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--chunks", type=int, default=8, help="content chunks per stream")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause between chunks")
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port, Shape(args.chunks, args.delay_ms / 1000)))


if __name__ == "__main__":
    main()
