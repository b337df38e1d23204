"""Google sign-in never takes over an account (issue 11, item 4), in PluginMind's envelope.

A Google token links to an existing account only when Google is authoritative for its
address (Gmail, a matching `hd`, SWITCHBOARD_GOOGLE_EMAIL_DOMAINS); otherwise, and when
the account is linked to another Google account, the answer is a 409 that says why,
with no session and no second account.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.faces.pluginmind.conftest import PM


async def google_sign_in(pm: PM, token: str) -> httpx.Response:
    async with pm.new_client() as browser:
        return await browser.post("/auth/google", json={"id_token": token})


def refusal(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert "set-cookie" not in response.headers
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["correlation_id"]
    return error


async def user_count(pm: PM) -> int:
    async def work(services: Any) -> int:
        return int((await services.accounts.list_users()).total)

    return int(await pm.harness.run(work))


class TestNoTakeover:
    async def test_an_address_google_does_not_own_is_refused_clearly(self, pm: PM) -> None:
        admin = await pm.harness.user("boss@corp.com", admin=True)
        before = await user_count(pm)
        response = await google_sign_in(pm, pm.google.sign("boss@corp.com", sub="intruder"))
        error = refusal(response, "ACCOUNT_LINK_REQUIRED")
        assert "already exists" in error["message"]
        assert "link your Google account" in error["message"]
        # Neither linked nor a second account made.
        assert await user_count(pm) == before

        async def linked(services: Any) -> str | None:
            subject: str | None = await services.google.linked_subject(admin.id)
            return subject

        assert await pm.harness.run(linked) is None

    async def test_the_owners_own_google_sign_in_keeps_working(self, pm: PM) -> None:
        admin = await pm.harness.user("boss@corp.com", admin=True)
        refused = await google_sign_in(pm, pm.google.sign("boss@corp.com", sub="intruder"))
        assert refused.status_code == 409
        # The owner's Workspace account: Google is authoritative for corp.com (`hd`).
        mine = await google_sign_in(pm, pm.google.sign("boss@corp.com", sub="boss", hd="corp.com"))
        assert mine.status_code == 200, mine.text
        assert mine.json()["user"]["id"] == admin.id
        again = await google_sign_in(pm, pm.google.sign("boss@corp.com", sub="boss", hd="corp.com"))
        assert again.json()["user"]["id"] == admin.id

    async def test_a_gmail_address_linked_to_another_google_account_is_a_409(self, pm: PM) -> None:
        first = await google_sign_in(pm, pm.google.sign("ann@gmail.com", sub="ann"))
        assert first.status_code == 200
        other = await google_sign_in(pm, pm.google.sign("ann@gmail.com", sub="not-ann"))
        error = refusal(other, "ACCOUNT_CONFLICT")
        assert "already linked to a different Google account" in error["message"]
        # The first link is kept.
        again = await google_sign_in(pm, pm.google.sign("ann@gmail.com", sub="ann"))
        assert again.json()["user"]["id"] == first.json()["user"]["id"]

    async def test_a_new_address_still_gets_a_new_account(self, pm: PM) -> None:
        response = await google_sign_in(pm, pm.google.sign("fresh@example.com"))
        assert response.status_code == 200
        assert response.json()["user"]["email"] == "fresh@example.com"


class TestExplicitLink:
    async def test_the_signed_in_holder_links_google_then_signs_in_with_it(self, pm: PM) -> None:
        holder = await pm.harness.user("boss@corp.com")
        token = pm.google.sign("boss@corp.com", sub="boss-google")
        assert (await google_sign_in(pm, token)).status_code == 409
        linked = await pm.client.post(
            "/auth/google/link", json={"id_token": token}, headers=holder.token_headers
        )
        assert linked.status_code == 200, linked.text
        assert linked.json() == {"status": "ok", "google_id": "boss-google"}
        signed = await google_sign_in(pm, token)
        assert signed.json()["user"]["id"] == holder.id

    async def test_linking_needs_a_session_and_never_moves_a_link(self, pm: PM) -> None:
        ann = await google_sign_in(pm, pm.google.sign("ann@gmail.com", sub="ann"))
        assert ann.status_code == 200
        other = await pm.harness.user("other@example.com")
        token = pm.google.sign("ann@gmail.com", sub="ann")
        anonymous = await pm.client.post("/auth/google/link", json={"id_token": token})
        assert anonymous.status_code == 401
        by_key = await pm.client.post(
            "/auth/google/link", json={"id_token": token}, headers=other.headers
        )
        assert by_key.status_code == 403
        moved = await pm.client.post(
            "/auth/google/link", json={"id_token": token}, headers=other.token_headers
        )
        assert moved.status_code == 409
        again = await google_sign_in(pm, token)
        assert again.json()["user"]["id"] == ann.json()["user"]["id"]
