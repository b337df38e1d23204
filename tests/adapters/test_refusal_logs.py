"""A refused outbound destination writes one WARNING line: host, port and why, the
request id from the log context, and never the URL's credentials or query string."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.http.policy import OutboundPolicy
from switchboard.kit.netpolicy import BlockedUrl
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY


def warnings(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["log_level"] == "warning"]


async def metadata_resolver(host: str, port: int) -> list[str]:
    return ["169.254.169.254"]


async def test_a_name_resolving_to_a_forbidden_address_logs_once() -> None:
    policy = OutboundPolicy(resolve=metadata_resolver)
    with capture_logs() as logs, pytest.raises(BlockedUrl):
        await policy.check_url("http://innocent.example:8080/v1", trusted=False, timeout=1.0)
    [line] = warnings(logs)
    assert line["event"] == "outbound_url_refused"
    assert (line["host"], line["port"], line["trusted"]) == ("innocent.example", 8080, False)
    assert "not allowed" in line["reason"]


async def test_a_url_refused_for_its_form_never_logs_its_credentials() -> None:
    policy = OutboundPolicy(resolve=metadata_resolver)
    url = "http://admin:hunter2@api.example/v1?key=sk-secret-0123456789"
    with capture_logs() as logs, pytest.raises(BlockedUrl):
        await policy.check_url(url, trusted=False, timeout=1.0)
    [line] = warnings(logs)
    assert line["host"] == "api.example" and "credentials" in line["reason"]
    text = json.dumps(logs)
    assert "hunter2" not in text and "sk-secret" not in text and "admin" not in text


def test_a_refused_ip_literal_logs_once() -> None:
    policy = OutboundPolicy()
    with capture_logs() as logs:
        assert not policy.address_allowed("169.254.169.254", "169.254.169.254", 80, True)
        assert policy.address_allowed("93.184.216.34", "example.com", 443, False)
    [line] = warnings(logs)
    assert line["host"] == "169.254.169.254" and line["trusted"] is True


async def test_a_refusal_during_a_request_names_the_request(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> None:
    app = await harness_factory(
        openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
    )
    user = await app.user("a@example.com")
    image = {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/x.png"}}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await app.client.post(
            "/v1/chat/completions",
            headers=user.headers,
            json={"model": "openai/fake-model", "messages": [{"role": "user", "content": [image]}]},
        )
    assert response.status_code == 400
    [line] = warnings(logs)
    assert line["event"] == "outbound_url_refused" and line["host"] == "169.254.169.254"
    assert line["request_id"] == response.headers["x-request-id"]
    assert "latest" not in json.dumps(line)


async def test_each_refusal_of_a_remembered_ip_literal_logs_again() -> None:
    # The aiohttp client remembers hosts it allowed; a refused one is judged every time,
    # so a second request to it is not a silent refusal.
    clients = OutboundClients()
    client = clients.aio_client(trusted=False)
    try:
        with capture_logs() as logs:
            for _ in range(2):
                with pytest.raises(BlockedUrl):
                    client.request("GET", "http://169.254.169.254/latest/meta-data")
        assert [line["event"] for line in warnings(logs)] == ["outbound_url_refused"] * 2
    finally:
        await clients.aclose()
