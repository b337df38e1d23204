"""Issue 11, item 8: a property-based pass over every face's OpenAPI operations.

schemathesis generates requests from the app's OpenAPI document (valid ones and ones
that break the schema: wrong types, huge numbers, NUL and other odd characters), face by
face, and each goes to the in-process app as a signed-in user. Whatever the input, no
answer is a 5xx other than the documented 502/503/504 of an upstream or an outage. The
number of examples per operation is bounded and derandomized, so the pass is
reproducible and takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.schemas import APIOperation
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import AppContext
from switchboard.registry import FACES
from tests.fixtures.app import make_settings

Operation = APIOperation[Any, Any, Any, Any]

EXAMPLES_PER_OPERATION = 10
# Statuses that are not bugs: the provider failed or timed out, or we are unavailable.
EXPECTED_5XX = frozenset({502, 503, 504})
# Operations that end the caller's session or account would turn every later request
# into a 401: they run last.
ENDS_THE_SESSION = ("logout", "sign-out", "signout")
# Live event streams never end by themselves, and the test client reads whole bodies;
# their subscriptions are tested in tests/api/realtime.
ENDLESS = frozenset({("/switchboard/v1/events", "GET")})


def face_operations(schema: Any, face: str) -> list[Operation]:
    """The face's operations in the app's document, the session-ending ones last."""
    spec = FACES[face][0]
    routes = {
        (getattr(route, "path", ""), method.upper())
        for router in spec.routers
        for route in router.routes
        for method in getattr(route, "methods", ())
    }
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().path, result.ok().method.upper()) in routes - ENDLESS
    ]
    return sorted(operations, key=_ends_the_session)


def _ends_the_session(operation: Operation) -> bool:
    return (
        operation.method.upper() == "DELETE"
        and operation.path.rstrip("/").endswith(("/me", "/account", "/profile"))
    ) or any(word in operation.path for word in ENDS_THE_SESSION)


@contextmanager
def running_app(engine: AsyncEngine, data_dir: Path) -> Iterator[tuple[TestClient, str]]:
    """The app on the test database, started, with a signed-in user's bearer token."""
    app_settings = make_settings(
        data_dir, engine.url.render_as_string(False), redis_url=None, jobs_in_process="off"
    )
    app = create_app(app_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.portal is not None
        token = client.portal.call(_sign_in, app.state.ctx)
        yield client, token


async def _sign_in(ctx: AppContext) -> str:
    async with ctx.unit_of_work() as uow:
        services = ctx.services(uow)
        user = await services.accounts.create_user(
            UserCreate(email="fuzz@example.com", password="a-long-password-123")
        )
        pair = await services.accounts.start_session(user.id)
        return pair.access_token


def check_operation(client: TestClient, token: str, operation: Operation) -> None:
    """Hypothesis over one operation: no generated request is answered with a bug."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)))
    def no_bug(case: Case[Operation]) -> None:
        kwargs = case.as_transport_kwargs(headers={"Authorization": f"Bearer {token}"})
        response = client.request(**_for_httpx(kwargs))
        status = response.status_code
        assert status < 500 or status in EXPECTED_5XX, (
            f"{case.method} {case.formatted_path} -> {status}: {response.text[:300]}\n"
            f"{case.as_curl_command()}"
        )

    no_bug()


def _for_httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    # schemathesis prepares `requests`-style keyword arguments; TestClient is httpx.
    kwargs = dict(kwargs)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    kwargs["follow_redirects"] = False
    cookies = kwargs.pop("cookies", None)
    if cookies:  # per-request cookies are deprecated in httpx: send the header itself
        headers = dict(kwargs.get("headers") or {})
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        kwargs["headers"] = headers
    if "data" in kwargs and not isinstance(kwargs["data"], dict):
        kwargs["content"] = kwargs.pop("data")
    return kwargs


@pytest.mark.parametrize("face", sorted(FACES))
def test_no_generated_input_is_answered_with_a_bug(
    face: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    with running_app(engine, tmp_path / "data") as (client, token):
        schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
        failures = []
        for operation in face_operations(schema, face):
            try:
                check_operation(client, token, operation)
            except AssertionError as failure:
                failures.append(str(failure).splitlines()[0])
        assert not failures, "\n".join(failures)
