"""Every id-taking route: another user's ids are 404 (never 403), and nothing changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchboard.api.faces import api_routes
from switchboard.faces.pocketllm import FACE
from tests.faces.pocketllm.conftest import data_of, error_of, sign_up_and_in
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.openai_fake import tiny_png

# (method, path template, JSON body) for every route that takes an id.
MATRIX: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/v1/chats/{chat}", None),
    ("PUT", "/v1/chats/{chat}", {"title": "stolen"}),
    ("DELETE", "/v1/chats/{chat}", None),
    ("POST", "/v1/chats/{chat}/messages", {"content": "hi"}),
    ("POST", "/v1/chats/{chat}/messages", {"content": "hi", "stream": True}),
    ("GET", "/v1/chats/{chat}/messages", None),
    ("GET", "/v1/jobs/{job}", None),
    ("DELETE", "/v1/jobs/{job}", None),
    ("POST", "/v1/jobs/{job}/retry", None),
    ("GET", "/v1/media/{media}", None),
    ("GET", "/v1/models/{model}", None),
    ("DELETE", "/v1/models/{model}", None),
    ("POST", "/v1/models/{model}/default", None),
    ("PATCH", "/v1/providers/{provider}", {"displayName": "stolen"}),
    ("DELETE", "/v1/providers/{provider}", None),
]


def test_every_id_route_is_in_the_matrix() -> None:
    covered = {(m, p.replace("{chat}", "{chat_id}")) for m, p, _ in MATRIX}
    covered = {
        (
            m,
            p.replace("{job}", "{job_id}")
            .replace("{media}", "{media_id}")
            .replace("{model}", "{model_id}"),
        )
        for m, p in covered
    }
    routes = [r for router in FACE.routers for r in api_routes(router.routes) if "{" in r.path]
    for route in routes:
        for method in route.methods or ():
            if route.path == "/v1/providers/{provider}/models":
                continue  # reads the caller's own connection only (tested below)
            assert (method, route.path) in covered, (method, route.path)


async def test_other_users_ids_are_not_found(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(jobs_in_process="off")
    client = harness.client
    alice = await sign_up_and_in(client, "alice@example.com")
    bob = await sign_up_and_in(client, "bob@example.com")
    chat = data_of(
        await client.post(
            "/v1/chats",
            headers=alice.headers,
            json={"title": "mine", "model_config": {"provider": "echo", "model": "echo"}},
        ),
        201,
    )
    job = data_of(
        await client.post(
            "/v1/jobs/image-generation",
            headers=alice.headers,
            json={"prompt": "x", "model": "dall-e-2"},
        ),
        201,
    )
    model = data_of(
        await client.post(
            "/v1/models/import",
            headers=alice.headers,
            json={"provider": "openai", "selections": [{"id": "gpt-4o"}]},
        ),
        201,
    )[0]

    async def save_media(services):  # type: ignore[no-untyped-def]
        return await services.media.save(alice.id, tiny_png(), "image/png")

    media = await harness.run(save_media)
    await harness.run(
        lambda s: s.providers.save_connection(alice.id, "groq", api_key="gsk-alice-secret-1234")
    )
    ids = {
        "chat": chat["id"],
        "job": job["id"],
        "media": media.id,
        "model": model["id"],
        "provider": "groq",
    }
    for method, template, body in MATRIX:
        path = template.format(**ids)
        response = await client.request(method, path, headers=bob.headers, json=body)
        if path.startswith("/v1/media/"):
            assert response.status_code == 404, path
        else:
            error_of(response, 404)
    # Bob's view of the provider's models is his own (not configured), never Alice's.
    body = (await client.get("/v1/providers/groq/models", headers=bob.headers)).json()
    assert body["configured_providers"] == [] and body["models"] == []

    # Nothing of Alice's changed.
    same = data_of(await client.get(f"/v1/chats/{chat['id']}", headers=alice.headers))
    assert same["title"] == "mine"
    assert data_of(await client.get(f"/v1/jobs/{job['id']}", headers=alice.headers))["status"] == (
        "pending"
    )
    saved = (await client.get("/v1/models/saved", headers=alice.headers)).json()
    assert [m["id"] for m in saved] == [model["id"]]
    providers = data_of(await client.get("/v1/providers", headers=alice.headers))
    assert providers[0]["display_name"] is None and providers[0]["has_api_key"] is True
    assert (await client.get(f"/v1/media/{media.id}", headers=alice.headers)).status_code == 200
