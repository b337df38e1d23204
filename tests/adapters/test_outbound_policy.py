"""The hardened outbound HTTP layer: the SSRF regression corpus.

The fakes listen on 127.0.0.1, so reaching them needs a trusted client (as an operator's
endpoint would be) or an exemption; every test that shows a refusal uses the same fake,
so the refusal is the policy's and not a dead port's.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator

import httpx
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from switchboard.adapters.http import AIO_ERRORS, BlockedUrl, OutboundClients, aio_error
from switchboard.core.errors import Invalid, SwitchboardError, Timeout, UpstreamRejected
from tests.fixtures.upstreams import fixtures as openai_fixtures
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

# The shared fixtures, bound here so pytest finds them in this module.
openai_upstream_server = openai_fixtures.openai_upstream_server
openai_upstream = openai_fixtures.openai_upstream


async def _redirect(request: Request) -> Response:
    upstream: FakeUpstream = request.app.state.upstream
    await upstream.record(request)
    return RedirectResponse(request.query_params["to"], status_code=302)


async def _hello(request: Request) -> Response:
    upstream: FakeUpstream = request.app.state.upstream
    await upstream.record(request)
    fault = upstream.take_fault(request.url.path)
    await upstream.apply_delay(fault)
    if fault and fault.status:
        return PlainTextResponse(f"upstream secret body {OPENAI_TEST_KEY}", fault.status)
    return PlainTextResponse("hello")


async def _big(request: Request) -> Response:
    return PlainTextResponse("x" * 100_000)


def _build_web(upstream: FakeUpstream) -> Starlette:
    app = Starlette(
        routes=[
            Route("/redirect", _redirect),
            Route("/hello", _hello),
            Route("/big", _big),
        ]
    )
    app.state.upstream = upstream
    return app


@pytest.fixture(scope="module")
def web_a() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(build_app=_build_web).start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def web_b() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(build_app=_build_web).start()
    yield upstream
    upstream.stop()


@pytest.fixture
def webs(web_a: FakeUpstream, web_b: FakeUpstream) -> tuple[FakeUpstream, FakeUpstream]:
    web_a.reset()
    web_b.reset()
    return web_a, web_b


@pytest.fixture
async def clients() -> AsyncIterator[OutboundClients]:
    outbound = OutboundClients()
    yield outbound
    await outbound.aclose()


def _hostport(upstream: FakeUpstream) -> str:
    return upstream.url.removeprefix("http://")


class TestSafeFetchReachesTrustedEndpoints:
    async def test_trusted_fetch_of_the_fake(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        body = await clients.safe_fetch(
            f"{openai_upstream.url}/v1/models",
            trusted=True,
            headers={"authorization": f"Bearer {OPENAI_TEST_KEY}"},
        )
        assert b"fake-model" in body

    async def test_untrusted_fetch_of_the_same_fake_is_refused_before_connecting(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        with pytest.raises(Invalid) as caught:
            await clients.safe_fetch(f"{openai_upstream.url}/v1/models")
        assert caught.value.code == "url_not_allowed"
        assert openai_upstream.requests == []

    async def test_untrusted_sdk_clients_refuse_loopback_on_both_stacks(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        with pytest.raises(BlockedUrl):
            await clients.httpx2_client(trusted=False).get(f"{openai_upstream.url}/v1/models")
        with pytest.raises(BlockedUrl):
            await clients.httpx_client(trusted=False).get(f"{openai_upstream.url}/v1/models")
        assert openai_upstream.requests == []

    async def test_trusted_sdk_clients_work_on_both_stacks(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        headers = {"authorization": f"Bearer {OPENAI_TEST_KEY}"}
        url = f"{openai_upstream.url}/v1/models"
        assert (
            await clients.httpx2_client(trusted=True).get(url, headers=headers)
        ).status_code == 200
        assert (
            await clients.httpx_client(trusted=True).get(url, headers=headers)
        ).status_code == 200

    async def test_exempt_host_port_is_reachable_untrusted(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web, _ = webs
        outbound = OutboundClients(exemptions=[_hostport(web)])
        try:
            assert await outbound.safe_fetch(f"{web.url}/hello") == b"hello"
        finally:
            await outbound.aclose()

    async def test_exemptions_never_cover_metadata(self) -> None:
        outbound = OutboundClients(exemptions=["169.254.169.254:80"])
        try:
            with pytest.raises(Invalid):
                await outbound.safe_fetch("http://169.254.169.254/latest/meta-data/")
        finally:
            await outbound.aclose()

    async def test_sdk_client_close_does_not_close_the_shared_pool(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web, _ = webs
        first = clients.httpx2_client(trusted=True, timeout=5.0)
        await first.get(f"{web.url}/hello")
        await first.aclose()  # what an SDK does when its client is closed
        other = clients.httpx2_client(trusted=True, timeout=6.0)
        assert (await other.get(f"{web.url}/hello")).text == "hello"

    async def test_closing_one_handle_leaves_the_others_working(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web, _ = webs
        one = clients.httpx_client(trusted=True, timeout=5.0)
        two = clients.httpx_client(trusted=True, timeout=5.0)
        await one.aclose()
        assert (await two.get(f"{web.url}/hello")).text == "hello"

    def test_redirects_are_off(self, clients: OutboundClients) -> None:
        assert not clients.httpx2_client(trusted=True).follow_redirects
        assert not clients.httpx_client(trusted=True).follow_redirects


BLOCKED_ALWAYS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://0.0.0.0:80/",
    "http://[::]/",
    "http://metadata.google.internal.invalid./",  # resolves nowhere: must not reach out
]
BLOCKED_UNTRUSTED = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fd00::1]/",
    "http://10.0.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://localhost/",
    "http://LOCALHOST:8080/",
]
BAD_SYNTAX = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://example.com/",
    "http://user:pass@example.com/",
    "http://example.com@127.0.0.1/",
]


class TestRegressionCorpus:
    @pytest.mark.parametrize("url", BLOCKED_ALWAYS)
    async def test_metadata_and_link_local_blocked_even_when_trusted(
        self, clients: OutboundClients, url: str
    ) -> None:
        with pytest.raises(SwitchboardError) as caught:
            await clients.safe_fetch(url, trusted=True, timeout=5)
        if "invalid." in url:  # a name that does not resolve fails as unreachable
            assert caught.value.code == "upstream_unavailable"
        else:
            assert isinstance(caught.value, Invalid)

    @pytest.mark.parametrize("url", BLOCKED_UNTRUSTED)
    async def test_private_and_loopback_blocked_for_users(
        self, clients: OutboundClients, url: str
    ) -> None:
        with pytest.raises(Invalid) as caught:
            await clients.safe_fetch(url, timeout=5)
        assert caught.value.code == "url_not_allowed"

    @pytest.mark.parametrize("url", BAD_SYNTAX)
    async def test_schemes_and_userinfo_refused(self, clients: OutboundClients, url: str) -> None:
        with pytest.raises(Invalid):
            await clients.safe_fetch(url, trusted=True)


class TestRedirects:
    async def test_redirect_to_private_ip_is_refused(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        # A is trusted (operator endpoint) and redirects to B, another loopback origin:
        # trust does not travel with a redirect, so B is refused at connect.
        web_a, web_b = webs
        with pytest.raises(Invalid):
            await clients.safe_fetch(f"{web_a.url}/redirect?to={web_b.url}/hello", trusted=True)
        assert len(web_a.requests) == 1
        assert web_b.requests == []

    async def test_redirect_to_metadata_is_refused(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        target = "http://169.254.169.254/latest/meta-data/"
        with pytest.raises(Invalid):
            await clients.safe_fetch(f"{web_a.url}/redirect?to={target}", trusted=True)

    async def test_redirect_to_a_bad_scheme_is_refused(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        with pytest.raises(Invalid):
            await clients.safe_fetch(f"{web_a.url}/redirect?to=file:///etc/passwd", trusted=True)

    async def test_same_origin_redirect_is_followed_with_headers(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        body = await clients.safe_fetch(
            f"{web_a.url}/redirect?to=/hello", trusted=True, headers={"authorization": "Bearer a"}
        )
        assert body == b"hello"
        assert [r.headers.get("authorization") for r in web_a.requests] == ["Bearer a"] * 2

    async def test_credentials_are_not_forwarded_cross_origin(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, web_b = webs
        outbound = OutboundClients(exemptions=[_hostport(web_a), _hostport(web_b)])
        try:
            body = await outbound.safe_fetch(
                f"{web_a.url}/redirect?to={web_b.url}/hello",
                headers={"authorization": "Bearer secret-for-a"},
            )
        finally:
            await outbound.aclose()
        assert body == b"hello"
        assert web_a.requests[0].headers["authorization"] == "Bearer secret-for-a"
        assert "authorization" not in web_b.requests[0].headers

    async def test_redirect_loops_stop(self, webs: tuple[FakeUpstream, FakeUpstream]) -> None:
        web_a, _ = webs
        outbound = OutboundClients(exemptions=[_hostport(web_a)])
        loop = f"{web_a.url}/redirect?to=/redirect?to=/redirect?to=/redirect?to=/redirect?to=/hello"
        try:
            with pytest.raises(UpstreamRejected) as caught:
                await outbound.safe_fetch(loop, max_redirects=2)
        finally:
            await outbound.aclose()
        assert caught.value.code == "too_many_redirects"

    async def test_sdk_clients_do_not_follow_redirects(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, web_b = webs
        response = await clients.httpx2_client(trusted=True).get(
            f"{web_a.url}/redirect?to={web_b.url}/hello"
        )
        assert response.status_code == 302
        assert web_b.requests == []


class TestDnsPinning:
    async def test_connects_to_the_checked_address(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        port = int(web_a.url.rsplit(":", 1)[1])

        async def resolve(host: str, port: int) -> list[str]:
            return ["127.0.0.1"] if host == "api.pinned.test" else []

        outbound = OutboundClients(resolve=resolve)
        try:
            body = await outbound.safe_fetch(f"http://api.pinned.test:{port}/hello", trusted=True)
        finally:
            await outbound.aclose()
        assert body == b"hello"
        # TLS/SNI and the Host header keep the name; only the socket uses the address.
        assert web_a.requests[0].headers["host"] == f"api.pinned.test:{port}"

    async def test_rebinding_to_metadata_is_caught_on_the_next_connection(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        port = int(web_a.url.rsplit(":", 1)[1])
        answers = [["127.0.0.1"], ["169.254.169.254"]]

        async def resolve(host: str, port: int) -> list[str]:
            return answers.pop(0)

        outbound = OutboundClients(resolve=resolve, max_keepalive_connections=0)
        try:
            assert (
                await outbound.safe_fetch(f"http://rebind.test:{port}/hello", trusted=True)
                == b"hello"
            )
            with pytest.raises(Invalid):
                await outbound.safe_fetch(f"http://rebind.test:{port}/hello", trusted=True)
        finally:
            await outbound.aclose()

    async def test_one_private_answer_among_public_ones_blocks(self) -> None:
        async def resolve(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "127.0.0.1"]

        outbound = OutboundClients(resolve=resolve)
        try:
            with pytest.raises(Invalid):
                await outbound.safe_fetch("http://mixed.test/")
        finally:
            await outbound.aclose()


class TestLimits:
    async def test_response_size_is_capped(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        with pytest.raises(UpstreamRejected) as caught:
            await clients.safe_fetch(f"{web_a.url}/big", trusted=True, max_bytes=1000)
        assert caught.value.code == "response_too_large"
        assert len(await clients.safe_fetch(f"{web_a.url}/big", trusted=True)) == 100_000

    async def test_time_is_capped(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        web_a.fail(delay=2)
        with pytest.raises(Timeout):
            await clients.safe_fetch(f"{web_a.url}/hello", trusted=True, timeout=0.3)

    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (401, "upstream_rejected"),
            (404, "upstream_rejected"),
            (429, "rate_limited"),
            (503, "upstream_unavailable"),
        ],
    )
    async def test_upstream_bodies_are_never_reflected(
        self,
        clients: OutboundClients,
        webs: tuple[FakeUpstream, FakeUpstream],
        status: int,
        kind: str,
    ) -> None:
        web_a, _ = webs
        web_a.fail(status=status)
        with pytest.raises(SwitchboardError) as caught:
            await clients.safe_fetch(f"{web_a.url}/hello", trusted=True)
        assert caught.value.kind == kind
        assert caught.value.upstream_status == status
        rendered = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
        assert OPENAI_TEST_KEY not in rendered
        assert "secret body" not in rendered


def test_unix_sockets_are_refused() -> None:
    # httpx's `uds=` would bypass the address policy entirely.
    from switchboard.adapters.http.backends import PinnedBackend2
    from switchboard.adapters.http.policy import OutboundPolicy

    backend = PinnedBackend2(OutboundPolicy(), trusted=True)
    import asyncio

    with pytest.raises(Exception, match="unix sockets"):
        asyncio.run(backend.connect_unix_socket("/var/run/docker.sock"))


def test_both_stacks_are_importable_here_only() -> None:
    # The clients module is the one place allowed to build these.
    assert httpx2.AsyncClient is not None
    assert httpx.AsyncClient is not None


# -- aiohttp (the chat hot path): the same policy through the pinned resolver ------------


async def _aio_get(
    clients: OutboundClients, url: str, *, trusted: bool, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    try:
        async with clients.aio_client(trusted=trusted).request(
            "GET", url, headers=headers
        ) as response:
            return response.status, await response.read()
    except AIO_ERRORS as exc:
        raise aio_error(exc) from exc


class TestAiohttpClient:
    async def test_trusted_reaches_the_fake(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        headers = {"authorization": f"Bearer {OPENAI_TEST_KEY}"}
        status, _ = await _aio_get(
            clients, f"{openai_upstream.url}/v1/models", trusted=True, headers=headers
        )
        assert status == 200

    async def test_untrusted_loopback_is_refused_before_connecting(
        self, clients: OutboundClients, openai_upstream: FakeUpstream
    ) -> None:
        with pytest.raises(Invalid) as caught:
            await _aio_get(clients, f"{openai_upstream.url}/v1/models", trusted=False)
        assert caught.value.code == "url_not_allowed"
        port = openai_upstream.url.rsplit(":", 1)[1]
        with pytest.raises(Invalid):
            await _aio_get(clients, f"http://localhost:{port}/v1/models", trusted=False)
        assert openai_upstream.requests == []

    async def test_exempt_host_port_is_reachable_untrusted(
        self, openai_upstream: FakeUpstream
    ) -> None:
        outbound = OutboundClients(exemptions=[_hostport(openai_upstream)])
        try:
            headers = {"authorization": f"Bearer {OPENAI_TEST_KEY}"}
            status, _ = await _aio_get(
                outbound, f"{openai_upstream.url}/v1/models", trusted=False, headers=headers
            )
        finally:
            await outbound.aclose()
        assert status == 200

    @pytest.mark.parametrize("url", BLOCKED_ALWAYS)
    async def test_metadata_and_link_local_blocked_even_when_trusted(
        self, clients: OutboundClients, url: str
    ) -> None:
        with pytest.raises(SwitchboardError) as caught:
            await _aio_get(clients, url, trusted=True)
        if "invalid." in url:  # a name that does not resolve fails as unreachable
            assert caught.value.code == "upstream_unavailable"
        else:
            assert isinstance(caught.value, Invalid)

    @pytest.mark.parametrize("url", BLOCKED_UNTRUSTED)
    async def test_private_and_loopback_blocked_for_users(
        self, clients: OutboundClients, url: str
    ) -> None:
        with pytest.raises(SwitchboardError) as caught:
            await _aio_get(clients, url, trusted=False)
        # aiohttp refuses non-canonical IPv4 forms (0x7f.1, 2130706433) outright.
        assert isinstance(caught.value, Invalid) or caught.value.code == "upstream_unavailable"
        assert not isinstance(caught.value, Timeout)

    async def test_redirects_are_not_followed(
        self, clients: OutboundClients, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, web_b = webs
        status, _ = await _aio_get(
            clients, f"{web_a.url}/redirect?to={web_b.url}/hello", trusted=True
        )
        assert status == 302
        assert web_b.requests == []

    async def test_connects_to_the_checked_address_keeping_the_name(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        port = int(web_a.url.rsplit(":", 1)[1])

        async def resolve(host: str, port: int) -> list[str]:
            return ["127.0.0.1"] if host == "api.pinned.test" else []

        outbound = OutboundClients(resolve=resolve)
        try:
            status, body = await _aio_get(
                outbound, f"http://api.pinned.test:{port}/hello", trusted=True
            )
        finally:
            await outbound.aclose()
        assert (status, body) == (200, b"hello")
        assert web_a.requests[0].headers["host"] == f"api.pinned.test:{port}"

    async def test_rebinding_to_metadata_is_caught_on_the_next_connection(
        self, webs: tuple[FakeUpstream, FakeUpstream]
    ) -> None:
        web_a, _ = webs
        port = int(web_a.url.rsplit(":", 1)[1])
        answers = [["127.0.0.1"], ["169.254.169.254"]]

        async def resolve(host: str, port: int) -> list[str]:
            return answers.pop(0)

        outbound = OutboundClients(
            resolve=resolve, max_keepalive_connections=0, dns_cache_seconds=0
        )
        try:
            url = f"http://rebind.test:{port}/hello"
            assert await _aio_get(outbound, url, trusted=True) == (200, b"hello")
            with pytest.raises(Invalid):
                await _aio_get(outbound, url, trusted=True)
        finally:
            await outbound.aclose()

    async def test_one_private_answer_among_public_ones_blocks(self) -> None:
        async def resolve(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "127.0.0.1"]

        outbound = OutboundClients(resolve=resolve)
        try:
            with pytest.raises(Invalid):
                await _aio_get(outbound, "http://mixed.test/", trusted=False)
        finally:
            await outbound.aclose()

    async def test_environment_proxies_are_ignored(
        self,
        clients: OutboundClients,
        openai_upstream: FakeUpstream,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
        monkeypatch.setenv("http_proxy", "http://169.254.169.254:3128")
        headers = {"authorization": f"Bearer {OPENAI_TEST_KEY}"}
        status, _ = await _aio_get(
            clients, f"{openai_upstream.url}/v1/models", trusted=True, headers=headers
        )
        assert status == 200
