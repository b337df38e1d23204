"""SafeImageFetcher: provider image URLs go through the outbound policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.storage import SafeImageFetcher
from switchboard.core.errors import ErrorKind, SwitchboardError
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.openai_fake import tiny_png


def _app(upstream: FakeUpstream) -> Starlette:
    async def image(_request: Request) -> Response:
        return Response(tiny_png(), media_type="image/png")

    async def big(_request: Request) -> Response:
        return Response(b"\x89PNG" + b"0" * 5000, media_type="image/png")

    async def metadata(_request: Request) -> Response:
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)

    return Starlette(
        routes=[
            Route("/image.png", image),
            Route("/big.png", big),
            Route("/redirect.png", metadata),
        ]
    )


@pytest.fixture(scope="module")
def files() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(build_app=_app).start()
    yield upstream
    upstream.stop()


@pytest.fixture
async def clients() -> OutboundClients:
    return OutboundClients()


async def test_trusted_fetch_returns_the_bytes(
    files: FakeUpstream, clients: OutboundClients
) -> None:
    fetcher = SafeImageFetcher(clients)
    assert await fetcher.fetch(f"{files.url}/image.png", trusted=True) == tiny_png()
    await clients.aclose()


async def test_untrusted_loopback_url_is_refused(
    files: FakeUpstream, clients: OutboundClients
) -> None:
    with pytest.raises(SwitchboardError) as caught:
        await SafeImageFetcher(clients).fetch(f"{files.url}/image.png")
    assert caught.value.kind is ErrorKind.INVALID
    await clients.aclose()


async def test_redirect_to_metadata_is_refused_even_when_trusted(
    files: FakeUpstream, clients: OutboundClients
) -> None:
    with pytest.raises(SwitchboardError) as caught:
        await SafeImageFetcher(clients).fetch(f"{files.url}/redirect.png", trusted=True)
    assert caught.value.kind is ErrorKind.INVALID
    await clients.aclose()


async def test_size_is_capped(files: FakeUpstream, clients: OutboundClients) -> None:
    with pytest.raises(SwitchboardError) as caught:
        await SafeImageFetcher(clients, max_bytes=1000).fetch(f"{files.url}/big.png", trusted=True)
    assert caught.value.code == "response_too_large"
    await clients.aclose()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/a.png", "data:image/png;base64,AA"]
)
async def test_non_http_schemes_are_refused(clients: OutboundClients, url: str) -> None:
    with pytest.raises(SwitchboardError) as caught:
        await SafeImageFetcher(clients).fetch(url, trusted=True)
    assert caught.value.kind is ErrorKind.INVALID
    await clients.aclose()
