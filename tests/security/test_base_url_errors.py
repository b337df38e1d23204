"""Issue 11 #8 (base URLs): a provider base URL that does not resolve answered 500.

Every unusable base URL (a name that does not resolve, an address the policy refuses, a
scheme other than http(s)) is now the same 400 with the same message, at activation and
at a later change: which of them it was would tell a caller about the internal network.
"""

from __future__ import annotations

import pytest

from switchboard.core.providers.service import URL_REFUSED
from tests.faces.pocketllm.conftest import Account, error_of, sign_up_and_in
from tests.fixtures.app import Harness

BAD_URLS = [
    "http://no-such-host.invalid/v1",
    "http://127.0.0.1:8000/v1",
    "http://169.254.169.254/latest",
    "gopher://example.com/",
]


@pytest.fixture
async def alice(harness: Harness) -> Account:
    return await sign_up_and_in(harness.client, "alice@example.com")


@pytest.mark.parametrize("url", BAD_URLS)
async def test_activation_answers_one_generic_400(
    harness: Harness, alice: Account, url: str
) -> None:
    response = await harness.client.post(
        "/v1/providers/activate",
        headers=alice.headers,
        json={"provider": "openai", "apiKey": "sk-test-000000000000", "baseUrl": url},
    )

    assert error_of(response, 400).endswith(URL_REFUSED)


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_changed_base_url_answers_the_same(
    harness: Harness, alice: Account, url: str
) -> None:
    await harness.run(
        lambda s: s.providers.save_connection(alice.id, "openai", api_key="sk-test-000000000000")
    )

    response = await harness.client.patch(
        "/v1/providers/openai", headers=alice.headers, json={"baseUrl": url}
    )

    assert error_of(response, 400).endswith(URL_REFUSED)
