"""The access log line of `RequestContextMiddleware`, and the switch that turns it off."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from switchboard.api import middleware
from switchboard.api.middleware import RequestContextMiddleware
from switchboard.config import Settings


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _call(app: RequestContextMiddleware) -> list[MutableMapping[str, Any]]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": []}
    await app(scope, receive, send)
    return sent


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(middleware, "log", recorder)
    return recorder


async def test_on_by_default(recorder: _Recorder) -> None:
    sent = await _call(RequestContextMiddleware(_ok))
    assert sent[0]["status"] == 204
    assert [(event, fields["status"]) for event, fields in recorder.lines] == [("request", 204)]


async def test_off_writes_no_line_but_keeps_the_request_id(recorder: _Recorder) -> None:
    sent = await _call(RequestContextMiddleware(_ok, access_log=False))
    assert recorder.lines == []
    assert any(name == b"x-request-id" for name, _ in sent[0]["headers"])


def test_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().access_log is True
    monkeypatch.setenv("SWITCHBOARD_ACCESS_LOG", "false")
    assert Settings().access_log is False
