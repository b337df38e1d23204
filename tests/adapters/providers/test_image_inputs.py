"""Issue 11 #22: image inputs are judged by the outbound policy before a provider sees them.

`check_image_inputs` is what every chat adapter runs first: inline images must be raster
data: URLs; an image URL is a user's URL (untrusted, exemptions honoured), every address
of its host checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.common import check_image_inputs
from switchboard.core.errors import Invalid
from switchboard.core.llm import ChatMessage, ChatRequest, ContentPart, ImagePart, TextPart

TABLE = {
    "public.test": ["93.184.216.34"],
    "lan.test": ["10.0.0.5"],
    "mixed.test": ["93.184.216.34", "127.0.0.1"],
}


async def _resolve(host: str, port: int) -> list[str]:
    if host not in TABLE:
        raise OSError(f"no such host {host!r}")
    return TABLE[host]


@pytest.fixture
async def clients() -> AsyncIterator[OutboundClients]:
    made = OutboundClients(exemptions=["lan.test:8080"], resolve=_resolve)
    yield made
    await made.aclose()


def _request(url: str) -> ChatRequest:
    parts: list[ContentPart] = [TextPart("what is this?"), ImagePart(url)]
    return ChatRequest(model="m", messages=[ChatMessage(role="user", content=parts)])


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/gif;base64,R0lGODlh",
        "data:image/webp;base64,UklGRg==",
        "https://public.test/cat.jpg",
        "https://93.184.216.34/cat.jpg",
        "http://lan.test:8080/cat.png",  # exempted by the operator
    ],
)
async def test_allowed(clients: OutboundClients, url: str) -> None:
    await check_image_inputs(clients, _request(url))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("data:image/svg+xml;base64,PHN2Zy8+", "PNG, JPEG, GIF or WebP"),
        ("data:text/html;base64,PGgxPg==", "PNG, JPEG, GIF or WebP"),
        ("data:image/png,raw-bytes", "base64"),
        ("data:image/png;base64,***", "base64"),
        ("file:///etc/passwd", "http and https"),
        ("http://lan.test/cat.png", "not allowed"),  # exempt only on its port
        ("http://mixed.test/cat.png", "not allowed"),  # one bad answer blocks the name
        ("http://127.0.0.1:8080/cat.png", "not allowed"),
        ("http://[::ffff:169.254.169.254]/x.png", "not allowed"),
        ("https://nowhere.test/cat.jpg", "could not be resolved"),
    ],
)
async def test_refused(clients: OutboundClients, url: str, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        await check_image_inputs(clients, _request(url))

    assert caught.value.code == "invalid_image_url"
    assert caught.value.param == "messages"
    assert reason in caught.value.message


async def test_text_only_requests_resolve_nothing(clients: OutboundClients) -> None:
    request = ChatRequest(model="m", messages=[ChatMessage(role="user", content="hi")])

    await check_image_inputs(clients, request)
