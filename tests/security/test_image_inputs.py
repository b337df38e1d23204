"""Issue 11 #22: image inputs in chat follow the outbound policy.

`image_url` parts were passed to the provider as sent: an SVG data: URL (a document,
with scripts) reached it, and so did a URL of a loopback address, which a provider on
the operator's network would fetch from inside it. Here the provider is the operator's
OpenAI endpoint, the fake server on loopback (trusted: the operator configured it), and
the image URLs are the user's, judged as a user's URLs are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

SVG = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
PNG = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture
async def gateway(
    harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
) -> Harness:
    return await harness_factory(
        openai_api_key=OPENAI_TEST_KEY, openai_base_url=f"{openai_upstream.url}/v1"
    )


async def _chat(harness: Harness, image_url: str, *, stream: bool = False) -> Any:
    user = await harness.user(f"u{abs(hash(image_url)) % 10**8}-{stream}@example.com")
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": image_url}},
    ]
    return await harness.client.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {user.api_key}"},
        json={
            "model": "openai/fake-model",
            "stream": stream,
            "messages": [{"role": "user", "content": content}],
        },
    )


def _chats(upstream: FakeUpstream) -> int:
    return sum(1 for r in upstream.requests if r.path.endswith("/chat/completions"))


class TestImageInputs:
    @pytest.mark.parametrize("stream", [False, True])
    async def test_an_svg_data_url_is_refused_with_a_clear_400(
        self, gateway: Harness, openai_upstream: FakeUpstream, stream: bool
    ) -> None:
        response = await _chat(gateway, SVG, stream=stream)

        assert response.status_code == 400
        error = response.json()["error"]
        assert "PNG, JPEG, GIF or WebP" in error["message"]
        assert error["param"] == "messages"
        assert _chats(openai_upstream) == 0

    @pytest.mark.parametrize(
        "url",
        [
            "data:text/html;base64,PGgxPmhpPC9oMT4=",
            "data:image/png,not-base64",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ],
    )
    async def test_other_inline_or_non_http_inputs_are_refused(
        self, gateway: Harness, openai_upstream: FakeUpstream, url: str
    ) -> None:
        response = await _chat(gateway, url)

        assert response.status_code == 400
        assert _chats(openai_upstream) == 0

    @pytest.mark.parametrize("stream", [False, True])
    async def test_a_loopback_image_url_is_refused_although_the_endpoint_is_trusted(
        self, gateway: Harness, openai_upstream: FakeUpstream, stream: bool
    ) -> None:
        response = await _chat(gateway, f"{openai_upstream.url}/secret.png", stream=stream)

        # Host names are resolved by the adapter, once the stream's headers are out: a
        # stream ends with the error chunk, as for any upstream refusal.
        assert response.status_code == (200 if stream else 400)
        assert "image_url refused" in response.text and "not allowed" in response.text
        assert _chats(openai_upstream) == 0

    async def test_metadata_addresses_are_refused(
        self, gateway: Harness, openai_upstream: FakeUpstream
    ) -> None:
        response = await _chat(gateway, "http://169.254.169.254/latest/meta-data/x.png")

        assert response.status_code == 400
        assert _chats(openai_upstream) == 0

    async def test_raster_data_urls_and_public_urls_still_go_through(
        self, gateway: Harness, openai_upstream: FakeUpstream
    ) -> None:
        for url in (PNG, "https://93.184.216.34/cat.jpg"):
            response = await _chat(gateway, url)
            assert response.status_code == 200, response.text
        assert _chats(openai_upstream) == 2
