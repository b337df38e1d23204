"""Admission of every PluginMind route: analyses and sign-in on the face's named rate,
everything else as unlimited as the original; and sign-in never blocked by a stale cookie."""

from __future__ import annotations

from switchboard.api.admission import Admission, KeyBy, admission_of
from switchboard.api.faces import api_routes
from switchboard.faces.pluginmind import FACE
from tests.faces.pluginmind.conftest import PM


def admissions() -> dict[tuple[str, str], Admission]:
    return {
        (method, route.path): admission
        for router in FACE.routers
        for route in api_routes(router.routes)
        for method in route.methods or ()
        if (admission := admission_of(route)) is not None
    }


def test_every_route_declares_its_admission() -> None:
    declared = admissions()
    routes = [r for router in FACE.routers for r in api_routes(router.routes)]
    assert len(declared) == sum(len(r.methods or ()) for r in routes)
    for path in ("/process", "/analyze", "/analyze-async"):
        admission = declared[("POST", path)]
        assert (admission.rule, admission.key, admission.group) == (
            "pluginmind",
            KeyBy.USER_OR_IP,
            "pluginmind",
        )
    sign_in = declared[("POST", "/auth/google")]
    assert (sign_in.rule, sign_in.key) == ("pluginmind", KeyBy.IP)
    for path in ("/health", "/live", "/ready", "/version", "/services", "/services/health"):
        assert declared[("GET", path)].rule is None, path
    assert declared[("GET", "/me")].rule is None


async def test_sign_in_with_a_stale_cookie(pm: PM) -> None:
    async with pm.new_client() as browser:
        browser.cookies.set("pm_session", "expired-or-tampered")
        response = await browser.post("/auth/google", json={"id_token": pm.google.sign()})
    assert response.status_code == 200
    assert response.cookies["pm_session"] != "expired-or-tampered"


async def test_root_is_shared_with_the_app(pm: PM) -> None:
    body = (await pm.client.get("/")).json()
    assert body["name"] == "switchboard" and body["health"] == "/health"
    assert "pluginmind" in body["faces"]
