"""Authentication chains (api.auth): the first scheme finding its credential decides; a
wrong credential is refused, never passed on; each scheme reads only where it may."""

# No `from __future__ import annotations`: the test routes below depend on local chains,
# which FastAPI could not resolve from string annotations.
import hmac
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request

from switchboard.api.admission import Admit
from switchboard.api.auth import (
    AuthChain,
    Bearer,
    Cookie,
    CookieMessages,
    Handshake,
    LocalTrust,
    QueryToken,
    SharedSecret,
)
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.errors import Unauthenticated
from switchboard.kit.clock import utcnow
from tests.api.apps import plain_router, principal_body, serve, small_app
from tests.fixtures.app import Harness, User

SECRET = "master-token-0123456789-abcdefghij"
SESSION = "sid"


def chain_app(harness: Harness, chain: AuthChain) -> FastAPI:
    """`GET /who` needs a caller; `GET /maybe` admits anonymous callers too."""
    router = plain_router()

    @router.get("/who", dependencies=[Admit(chain, scope="chat", rule=None)])
    async def who(principal: Annotated[Principal, Depends(chain.require)]) -> dict[str, Any]:
        return principal_body(principal)

    @router.get("/maybe", dependencies=[Admit(chain, scope="chat", rule=None, optional=True)])
    async def maybe(request: Request) -> dict[str, Any]:
        return principal_body(getattr(request.state, "principal", None))

    return small_app(harness, router)


async def call(
    harness: Harness,
    chain: AuthChain,
    path: str = "/who",
    *,
    base_url: str = "http://testserver",
    cookies: dict[str, str] | None = None,
    **request: Any,
) -> tuple[int, dict[str, Any]]:
    """Status and body of one GET through `chain`."""
    app = chain_app(harness, chain)
    async with serve(app, base_url=base_url, cookies=cookies) as client:
        response = await client.get(path, **request)
    return response.status_code, response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    return body["error"]["code"], body["error"]["message"]


async def principal_of(
    harness: Harness, chain: AuthChain, handshake: Handshake
) -> Principal | None:
    """The chain's verdict on a handshake that is not an HTTP request (a socket)."""

    async def work(services: Services) -> Principal | None:
        return await chain.authenticate(handshake, services)

    result: Principal | None = await harness.run(work)
    return result


def socket_scope(query: str = "", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "websocket",
        "path": "/socket",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
    }


async def expired_token(harness: Harness, user: User) -> str:
    """An access token of the user's live session whose `exp` has passed."""
    claims = harness.ctx.signer.decode(user.access_token)
    issued = harness.ctx.signer.issue(
        user_id=claims.user_id,
        session_id=claims.session_id,
        token_version=claims.token_version,
        ttl_seconds=60,
        now=utcnow() - timedelta(hours=1),
    )
    return issued.token


# -- Bearer ---------------------------------------------------------------------------------


async def test_bearer_takes_api_keys_and_access_tokens_from_the_header(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    chain = AuthChain(Bearer())
    status, body = await call(harness, chain, headers=user.headers)
    assert (status, body["user_id"], body["auth_method"]) == (200, user.id, "api_key")
    status, body = await call(harness, chain, headers=user.token_headers)
    assert (status, body["user_id"], body["auth_method"]) == (200, user.id, "access_token")
    status, body = await call(harness, chain, headers={"Authorization": f"bearer {user.api_key}"})
    assert (status, body["user_id"]) == (200, user.id)


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "Bearer " + "x" * 5000],
)
async def test_no_bearer_credential_is_the_chains_missing_error(
    harness: Harness, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, body = await call(harness, AuthChain(Bearer()), headers=headers)
    assert status == 401
    assert error_of(body) == ("missing_credentials", "Missing bearer token")


@pytest.mark.parametrize("token", ["not-a-token", "sb-aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb"])
async def test_a_wrong_bearer_token_is_refused(harness: Harness, token: str) -> None:
    status, body = await call(harness, AuthChain(Bearer()), headers=bearer(token))
    assert status == 401
    assert body["error"]["kind"] == "unauthenticated"
    assert body["error"]["code"] != "missing_credentials"


async def test_missing_credentials_use_the_chains_message_and_code(harness: Harness) -> None:
    chain = AuthChain(Bearer(), missing="Sign in first", missing_code="not_signed_in")
    status, body = await call(harness, chain)
    assert status == 401
    assert error_of(body) == ("not_signed_in", "Sign in first")


async def test_bearer_reads_the_socketio_auth_payload(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    chain = AuthChain(Bearer())
    found = await principal_of(
        harness, chain, Handshake.from_scope(socket_scope(), {"token": user.api_key})
    )
    assert found is not None and found.user_id == user.id
    found = await principal_of(
        harness, chain, Handshake.from_scope(socket_scope(), {"token": user.access_token})
    )
    assert found is not None and found.user_id == user.id


async def test_the_bearer_header_wins_over_the_socketio_payload(harness: Harness) -> None:
    first, second = await harness.user("a@example.com"), await harness.user("b@example.com")
    scope = socket_scope(headers=[(b"authorization", f"Bearer {first.api_key}".encode())])
    found = await principal_of(
        harness, AuthChain(Bearer()), Handshake.from_scope(scope, {"token": second.api_key})
    )
    assert found is not None and found.user_id == first.id


@pytest.mark.parametrize("payload", [{}, {"token": 123}, {"token": ""}, "sb-key", ["token"]])
async def test_an_unusable_socketio_payload_is_no_credential(
    harness: Harness, payload: object
) -> None:
    assert (
        await principal_of(
            harness, AuthChain(Bearer()), Handshake.from_scope(socket_scope(), payload)
        )
        is None
    )


async def test_a_wrong_socketio_token_is_refused(harness: Harness) -> None:
    with pytest.raises(Unauthenticated):
        await principal_of(
            harness, AuthChain(Bearer()), Handshake.from_scope(socket_scope(), {"token": "x"})
        )


# -- WebSocket subprotocol -------------------------------------------------------------------


async def test_bearer_reads_the_token_offered_after_the_bearer_subprotocol(
    harness: Harness,
) -> None:
    user = await harness.user("a@example.com")
    scope = socket_scope() | {"subprotocols": ["chat", "bearer", user.access_token]}
    found = await principal_of(harness, AuthChain(Bearer()), Handshake.from_scope(scope))
    assert found is not None and found.user_id == user.id


async def test_a_subprotocol_without_the_bearer_marker_is_no_credential(
    harness: Harness,
) -> None:
    user = await harness.user("a@example.com")
    scope = socket_scope() | {"subprotocols": [user.access_token, "bearer"]}
    assert await principal_of(harness, AuthChain(Bearer()), Handshake.from_scope(scope)) is None


async def test_a_plain_request_never_takes_a_subprotocol_header(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    headers = {"Sec-WebSocket-Protocol": f"bearer, {user.api_key}"}
    status, body = await call(harness, AuthChain(Bearer()), headers=headers)
    assert status == 401
    assert error_of(body)[0] == "missing_credentials"


# -- QueryToken -----------------------------------------------------------------------------


async def test_query_token_is_accepted_on_a_websocket(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    scope = socket_scope(f"token={user.api_key}")
    found = await principal_of(
        harness, AuthChain(Bearer(), QueryToken()), Handshake.from_scope(scope)
    )
    assert found is not None and found.user_id == user.id


async def test_query_token_is_accepted_on_an_event_stream(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    chain = AuthChain(Bearer(), QueryToken())
    status, body = await call(
        harness,
        chain,
        params={"token": user.access_token},
        headers={"Accept": "text/event-stream"},
    )
    assert (status, body["user_id"]) == (200, user.id)


async def test_query_token_is_ignored_on_a_plain_request(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    chain = AuthChain(Bearer(), QueryToken())
    status, body = await call(harness, chain, params={"token": user.api_key})
    assert status == 401
    assert error_of(body)[0] == "missing_credentials"
    # Not even a route admitting anonymous callers takes it.
    status, body = await call(harness, chain, "/maybe", params={"token": user.api_key})
    assert (status, body["user_id"]) == (200, None)


async def test_query_token_can_refuse_event_streams_and_use_another_name(
    harness: Harness,
) -> None:
    user = await harness.user("a@example.com")
    sockets_only = AuthChain(QueryToken(event_streams=False))
    status, _ = await call(
        harness,
        sockets_only,
        params={"token": user.api_key},
        headers={"Accept": "text/event-stream"},
    )
    assert status == 401
    named = AuthChain(QueryToken(name="access_token"))
    scope = socket_scope(f"token={user.api_key}")
    assert await principal_of(harness, named, Handshake.from_scope(scope)) is None
    scope = socket_scope(f"access_token={user.api_key}")
    found = await principal_of(harness, named, Handshake.from_scope(scope))
    assert found is not None and found.user_id == user.id


async def test_a_wrong_query_token_is_refused(harness: Harness) -> None:
    with pytest.raises(Unauthenticated):
        await principal_of(
            harness, AuthChain(QueryToken()), Handshake.from_scope(socket_scope("token=nope"))
        )


# -- Cookie ---------------------------------------------------------------------------------


async def test_cookie_holds_an_access_token(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    status, body = await call(
        harness, AuthChain(Cookie(SESSION)), cookies={SESSION: user.access_token}
    )
    assert (status, body["user_id"], body["auth_method"]) == (200, user.id, "session_cookie")


async def test_an_expired_cookie_says_so(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    token = await expired_token(harness, user)
    status, body = await call(harness, AuthChain(Cookie(SESSION)), cookies={SESSION: token})
    assert status == 401
    assert error_of(body) == ("session_expired", "Session expired")
    custom = Cookie(SESSION, CookieMessages(expired="Please sign in again", invalid="Bad"))
    status, body = await call(harness, AuthChain(custom), cookies={SESSION: token})
    assert (status, error_of(body)) == (401, ("session_expired", "Please sign in again"))


async def test_a_revoked_cookie_is_an_expired_session(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    await harness.run(lambda services: services.accounts.logout_everywhere(user.id))
    status, body = await call(
        harness, AuthChain(Cookie(SESSION)), cookies={SESSION: user.access_token}
    )
    assert (status, error_of(body)) == (401, ("session_expired", "Session expired"))


@pytest.mark.parametrize("value", ["garbage", "a.b.c", "api-key"])
async def test_an_invalid_cookie_says_so(harness: Harness, value: str) -> None:
    user = await harness.user("a@example.com")
    cookie = user.api_key if value == "api-key" else value  # cookies hold sessions, not keys
    status, body = await call(harness, AuthChain(Cookie(SESSION)), cookies={SESSION: cookie})
    assert (status, error_of(body)) == (401, ("invalid_session", "Invalid session token"))
    custom = Cookie(SESSION, CookieMessages(invalid="Who are you?"))
    status, body = await call(harness, AuthChain(custom), cookies={SESSION: cookie})
    assert (status, error_of(body)) == (401, ("invalid_session", "Who are you?"))


# -- order ----------------------------------------------------------------------------------


async def test_the_first_scheme_finding_its_credential_decides(harness: Harness) -> None:
    cookie_user, key_user = await harness.user("a@example.com"), await harness.user("b@example.com")
    both: dict[str, Any] = {
        "cookies": {SESSION: cookie_user.access_token},
        "headers": key_user.headers,
    }
    _, body = await call(harness, AuthChain(Cookie(SESSION), Bearer()), **both)
    assert body["user_id"] == cookie_user.id
    _, body = await call(harness, AuthChain(Bearer(), Cookie(SESSION)), **both)
    assert body["user_id"] == key_user.id
    # A scheme that finds nothing passes on.
    _, body = await call(harness, AuthChain(Cookie(SESSION), Bearer()), headers=key_user.headers)
    assert body["user_id"] == key_user.id


async def test_a_wrong_credential_does_not_fall_through(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    status, body = await call(
        harness,
        AuthChain(Bearer(), Cookie(SESSION)),
        headers=bearer("wrong"),
        cookies={SESSION: user.access_token},
    )
    assert status == 401 and body["error"]["code"] != "missing_credentials"
    status, body = await call(
        harness,
        AuthChain(Cookie(SESSION), Bearer()),
        headers=user.headers,
        cookies={SESSION: "wrong"},
    )
    assert (status, error_of(body)[0]) == (401, "invalid_session")
    # Nor does a route admitting anonymous callers take a wrong credential as none.
    status, _ = await call(harness, AuthChain(Bearer()), "/maybe", headers=bearer("wrong"))
    assert status == 401


async def test_a_request_authenticates_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await harness.user("a@example.com")
    calls: list[str] = []
    verify: Callable[[Services, str], Awaitable[Principal]] = Services.verify_credential

    async def counting(self: Services, token: str) -> Principal:
        calls.append(token)
        return await verify(self, token)

    monkeypatch.setattr(Services, "verify_credential", counting)
    # The route asks twice: through its Admit and through its own parameter.
    status, _ = await call(harness, AuthChain(Bearer()), headers=user.headers)
    assert status == 200
    assert calls == [user.api_key]


# -- SharedSecret ---------------------------------------------------------------------------


async def test_shared_secret_acts_as_the_owner(harness: Harness) -> None:
    status, body = await call(harness, AuthChain(SharedSecret(SECRET)), headers=bearer(SECRET))
    assert status == 200
    assert body["is_owner"] is True
    assert body["auth_method"] == "master_token"
    owner = await harness.run(
        lambda services: services.accounts.get_user_by_email(harness.settings.owner_email)
    )
    assert body["user_id"] == owner.id


async def test_shared_secret_is_compared_in_constant_time(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    await call(harness, AuthChain(SharedSecret(SECRET)), headers=bearer(SECRET[:-1]))
    assert compared == [(SECRET[:-1].encode(), SECRET.encode())]


@pytest.mark.parametrize("wrong", [SECRET[:-1], SECRET + "x", SECRET.upper(), "x"])
async def test_any_other_token_passes_to_the_next_scheme(harness: Harness, wrong: str) -> None:
    status, body = await call(harness, AuthChain(SharedSecret(SECRET)), headers=bearer(wrong))
    assert (status, error_of(body)[0]) == (401, "missing_credentials")
    user = await harness.user(f"{len(wrong)}-{wrong[:2]}@example.com".lower())
    status, body = await call(
        harness, AuthChain(SharedSecret(SECRET), Bearer()), headers=user.headers
    )
    assert (status, body["user_id"]) == (200, user.id)


async def test_shared_secret_reads_the_socketio_auth_payload(harness: Harness) -> None:
    handshake = Handshake.from_scope(socket_scope(), {"token": SECRET})
    found = await principal_of(harness, AuthChain(SharedSecret(SECRET), Bearer()), handshake)
    assert found is not None and found.is_owner


# -- LocalTrust -----------------------------------------------------------------------------


async def test_local_trust_acts_as_the_owner_when_the_setting_is_on(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(local_trust="on")
    assert harness.ctx.options.local_trust
    chain = AuthChain(Bearer(), LocalTrust())
    status, body = await call(harness, chain, base_url="http://localhost:8000")
    assert (status, body["is_owner"], body["auth_method"]) == (200, True, "local")
    # A presented credential still decides, right or wrong.
    user = await harness.user("a@example.com")
    _, body = await call(harness, chain, base_url="http://localhost", headers=user.headers)
    assert body["user_id"] == user.id
    status, _ = await call(harness, chain, base_url="http://localhost", headers=bearer("wrong"))
    assert status == 401
    # Host names another machine: not local (api.localtrust has every condition).
    status, _ = await call(harness, chain, base_url="http://testserver")
    assert status == 401


@pytest.mark.parametrize("setting", [{"local_trust": "off"}, {}, {"listen_host": "0.0.0.0"}])
async def test_local_trust_is_off_unless_the_setting_allows_it(
    harness_factory: Callable[..., Awaitable[Harness]], setting: dict[str, str]
) -> None:
    harness = await harness_factory(**setting)
    assert not harness.ctx.options.local_trust
    status, body = await call(
        harness, AuthChain(Bearer(), LocalTrust()), base_url="http://localhost"
    )
    assert (status, error_of(body)[0]) == (401, "missing_credentials")


async def test_local_trust_follows_a_loopback_listen_address(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(listen_host="127.0.0.1")
    status, body = await call(harness, AuthChain(LocalTrust()), base_url="http://127.0.0.1:8000")
    assert (status, body["is_owner"]) == (200, True)
