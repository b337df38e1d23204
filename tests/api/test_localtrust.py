"""Local trust (api.localtrust): who may act as the owner without credentials, and when the
operator's setting turns the bypass on."""

# No `from __future__ import annotations`: the server's test route depends on a local chain.
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.api.admission import Admit
from switchboard.api.auth import AuthChain, Bearer, LocalTrust
from switchboard.api.localtrust import is_trusted_local
from switchboard.app import create_app
from switchboard.bootstrap import build_context
from switchboard.config import Settings
from switchboard.core.accounts.principal import Principal
from tests.api.apps import plain_router, principal_body
from tests.fixtures.app import make_settings
from tests.fixtures.threaded_server import serve_in_thread

LOCAL_HOST = [(b"host", b"127.0.0.1:8000")]


def scope(
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] | None = ("127.0.0.1", 50000),
    kind: str = "http",
) -> dict[str, Any]:
    return {"type": kind, "headers": LOCAL_HOST if headers is None else headers, "client": client}


def with_local_host(*extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [*LOCAL_HOST, *extra]


# -- the peer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),  # all of 127/8 is loopback
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped, as a dual-stack socket reports it
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:192.168.1.20", False),
        ("203.0.113.7", False),
        ("", False),
    ],
)
def test_the_peer_must_be_loopback(peer: str, trusted: bool) -> None:
    assert is_trusted_local(scope(client=(peer, 50000))) is trusted


def test_no_peer_is_not_local() -> None:
    assert not is_trusted_local(scope(client=None))


def test_websockets_are_judged_alike() -> None:
    assert is_trusted_local(scope(kind="websocket"))
    assert not is_trusted_local(
        scope(with_local_host((b"origin", b"https://evil.example")), kind="websocket")
    )


# -- forwarding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        (b"x-forwarded-for", b"203.0.113.7"),
        (b"x-forwarded-for", b"127.0.0.1"),  # even one naming loopback: a proxy is there
        (b"x-real-ip", b"127.0.0.1"),
        (b"forwarded", b"for=127.0.0.1"),
    ],
)
def test_a_forwarded_request_is_not_local(header: tuple[bytes, bytes]) -> None:
    assert not is_trusted_local(scope(with_local_host(header)))


# -- Host -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "trusted"),
    [
        (b"localhost", True),
        (b"localhost:8000", True),
        (b"LOCALHOST:8000", True),
        (b"localhost.", True),
        (b"app.localhost:3000", True),  # *.localhost always resolves to loopback
        (b"127.0.0.1", True),
        (b"127.0.0.1:8000", True),
        (b"[::1]", True),
        (b"[::1]:8000", True),
        (b"::1", True),
        (b"[::ffff:127.0.0.1]:8000", True),
        # DNS rebinding: a name the attacker controls, resolved to 127.0.0.1.
        (b"evil.example", False),
        (b"evil.example:8000", False),
        (b"localhost.evil.example", False),
        (b"127.0.0.1.nip.io", False),
        (b"192.168.1.20:8000", False),
        (b"[::1", False),  # unclosed bracket
        (b"[]:8000", False),
        (b"", False),
    ],
)
def test_the_host_must_name_this_machine(host: bytes, trusted: bool) -> None:
    assert is_trusted_local(scope([(b"host", host)])) is trusted


def test_no_host_is_not_local() -> None:
    assert not is_trusted_local(scope([]))


def test_every_host_header_must_be_local() -> None:
    assert not is_trusted_local(scope([(b"host", b"evil.example"), (b"host", b"localhost")]))
    assert not is_trusted_local(scope([(b"host", b"localhost"), (b"host", b"evil.example")]))


# -- Origin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "trusted"),
    [
        (b"http://localhost:3000", True),
        (b"http://127.0.0.1:8000", True),
        (b"http://[::1]:5173", True),
        (b"https://app.localhost", True),
        (b"https://evil.example", False),
        (b"http://127.0.0.1.evil.example", False),
        (b"http://localhost@evil.example", False),
        # A sandboxed frame, a file: page, a cross-origin redirect: no origin to trust.
        (b"null", False),
        (b"file://", False),
        (b"http://[::1", False),  # malformed
        (b"", False),
    ],
)
def test_any_origin_must_be_loopback(origin: bytes, trusted: bool) -> None:
    assert is_trusted_local(scope(with_local_host((b"origin", origin)))) is trusted


def test_origin_null_is_foreign() -> None:
    """Decided: `Origin: null` is a page we cannot place (a sandboxed iframe sends it), so
    it must not ride the bypass, whatever the page's real location."""
    assert not is_trusted_local(scope(with_local_host((b"origin", b"null"))))


def test_a_browsers_cross_site_request_without_origin_is_foreign() -> None:
    # A top-level navigation or an <img> from another site carries no Origin.
    cross_site = (b"sec-fetch-site", b"cross-site")
    assert not is_trusted_local(scope(with_local_host(cross_site)))
    # A local frontend on another port is cross-site too, and its Origin says so.
    local_origin = (b"origin", b"http://localhost:5173")
    assert is_trusted_local(scope(with_local_host(cross_site, local_origin)))
    for site in (b"same-origin", b"same-site", b"none"):
        assert is_trusted_local(scope(with_local_host((b"sec-fetch-site", site))))


# -- the setting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen_host", "auto"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        (None, False),
    ],
)
def test_the_setting(listen_host: str | None, auto: bool) -> None:
    def enabled(value: str) -> bool:
        settings = Settings(local_trust=value, listen_host=listen_host)  # type: ignore[arg-type]
        return settings.local_trust_enabled

    assert enabled("auto") is auto
    assert enabled("on") is True
    assert enabled("off") is False


# -- end to end -----------------------------------------------------------------------------


@pytest.fixture
def local_server(tmp_path: Path, migrated_url: str, engine: AsyncEngine) -> Iterator[str]:
    """A uvicorn server on 127.0.0.1 with local trust on, and `GET /_local/who` behind
    `AuthChain(Bearer(), LocalTrust())`."""
    settings = make_settings(tmp_path / "data", migrated_url, local_trust="on")
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    chain = AuthChain(Bearer(), LocalTrust())
    router = plain_router()

    @router.get("/_local/who", dependencies=[Admit(chain, scope="chat", rule=None)])
    async def who(principal: Annotated[Principal, Depends(chain.require)]) -> dict[str, Any]:
        return principal_body(principal)

    app.include_router(router)
    with serve_in_thread(app, name="local-trust-server") as server:
        yield server.url


async def test_through_a_real_server_on_loopback(local_server: str) -> None:
    async with httpx.AsyncClient(base_url=local_server) as client:
        response = await client.get("/_local/who")
        assert response.status_code == 200
        assert response.json()["is_owner"] is True
        assert response.json()["auth_method"] == "local"
        # uvicorn trusts proxy headers from 127.0.0.1: the peer stays loopback, the header
        # alone refuses.
        forwarded = await client.get("/_local/who", headers={"X-Forwarded-For": "127.0.0.1"})
        assert forwarded.status_code == 401
        rebound = await client.get("/_local/who", headers={"Host": "evil.example"})
        assert rebound.status_code == 401
        foreign = await client.get("/_local/who", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 401
