"""Contract: `POST /v1/images/generations` in OpenAI's shapes, and the files of its URLs."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import pytest

from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY

pytestmark = pytest.mark.asyncio

PNG = b"\x89PNG\r\n\x1a\n"
ECHO = {"model": "echo/dall-e-2", "prompt": "a red square", "size": "256x256"}


async def generate(harness: Harness, headers: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    response = await harness.client.post(
        "/v1/images/generations", headers=headers, json={**ECHO, **body}
    )
    assert response.status_code == 200, response.text
    result: dict = response.json()  # type: ignore[type-arg]
    return result


class TestBase64:
    async def test_b64_json_returns_the_bytes(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        body = await generate(harness, user.headers, response_format="b64_json", n=2)
        assert set(body) == {"created", "data"}
        assert isinstance(body["created"], int)
        assert len(body["data"]) == 2
        for image in body["data"]:
            assert set(image) <= {"b64_json", "revised_prompt"}
            assert base64.b64decode(image["b64_json"]).startswith(PNG)

    async def test_gpt_image_models_answer_base64_by_default(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        body = await generate(harness, user.headers, model="echo/gpt-image-1", size="auto")
        assert "b64_json" in body["data"][0] and "url" not in body["data"][0]

    async def test_usage_is_recorded_with_the_image_price(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        await generate(harness, user.headers, response_format="b64_json", n=3)
        await harness.ctx.recorder.flush()
        summary = await harness.run(lambda s: s.usage.summary(user.id))
        assert summary.calls == 1
        assert summary.by_model[0].provider == "echo"
        assert summary.by_model[0].model == "dall-e-2"
        assert summary.cost_usd == pytest.approx(0.048)


class TestUrls:
    async def test_url_is_served_to_its_owner_only(self, harness: Harness) -> None:
        alice = await harness.user("alice@example.com")
        body = await generate(harness, alice.headers)  # `url` is OpenAI's default
        url = body["data"][0]["url"]
        assert url.startswith("http://testserver/v1/images/files/")
        assert body["data"][0]["revised_prompt"] == "a red square"

        image = await harness.client.get(url, headers=alice.headers)
        assert image.status_code == 200
        assert image.content.startswith(PNG)
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in image.headers["content-security-policy"]

        bob = await harness.user("bob@example.com")
        other = await harness.client.get(url, headers=bob.headers)
        assert other.status_code == 404
        assert set(other.json()["error"]) == {"message", "type", "param", "code"}
        assert (await harness.client.get(url)).status_code == 401

    async def test_an_unknown_file_is_404(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        for media_id in ("0190b9a0-0000-7000-8000-000000000000", "not-an-id"):
            response = await harness.client.get(
                f"/v1/images/files/{media_id}", headers=user.headers
            )
            assert response.status_code == 404


class TestThroughTheOperatorsOpenAI:
    @pytest.fixture
    async def app(
        self, harness_factory: Callable[..., Awaitable[Harness]], openai_upstream: FakeUpstream
    ) -> Harness:
        return await harness_factory(
            openai_api_key=OPENAI_TEST_KEY, openai_base_url=openai_upstream.url + "/v1"
        )

    async def test_dall_e_3_generates_one_image_per_upstream_call(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        user = await app.user("a@example.com")
        body = await generate(
            app, user.headers, model="dall-e-3", size="1024x1024", quality="hd", style="vivid",
            n=2, response_format="b64_json",
        )  # fmt: skip
        assert [d["revised_prompt"] for d in body["data"]] == ["revised: a red square"] * 2
        calls = [r.body for r in openai_upstream.requests if r.path == "/v1/images/generations"]
        assert len(calls) == 2
        assert calls[0]["model"] == "dall-e-3" and calls[0]["n"] == 1
        assert calls[0]["quality"] == "hd" and calls[0]["style"] == "vivid"

    async def test_upstream_failure_is_an_openai_error(
        self, app: Harness, openai_upstream: FakeUpstream
    ) -> None:
        user = await app.user("a@example.com")
        openai_upstream.fail(status=500, path_contains="images")
        response = await app.client.post(
            "/v1/images/generations", headers=user.headers, json={**ECHO, "model": "dall-e-2"}
        )
        assert response.status_code == 502
        assert response.json()["error"]["type"] == "server_error"
        assert OPENAI_TEST_KEY not in response.text


class TestErrors:
    @pytest.mark.parametrize("model", ["echo/echo", "nope-model", "nope/dall-e-2"])
    async def test_unknown_image_model_is_404_model_not_found(
        self, harness: Harness, model: str
    ) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/images/generations", headers=user.headers, json={**ECHO, "model": model}
        )
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "model_not_found"
        assert error["type"] == "invalid_request_error"
        assert error["param"] == "model"

    async def test_unconfigured_provider_is_404(self, harness: Harness) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/images/generations", headers=user.headers, json={**ECHO, "model": "dall-e-2"}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "provider_not_configured"

    @pytest.mark.parametrize(
        ("change", "param"),
        [
            ({"size": "999x999"}, "size"),
            ({"quality": "ultra"}, "quality"),
            ({"n": 5}, "n"),
            ({"n": 0}, "n"),
            ({"stream": True}, "stream"),
            ({"prompt": ""}, "prompt"),
            ({"response_format": "png"}, "response_format"),
            ({"bypass": True}, "bypass"),
        ],
    )
    async def test_bad_options_are_400_naming_the_param(
        self, harness: Harness, change: dict[str, object], param: str
    ) -> None:
        user = await harness.user("a@example.com")
        response = await harness.client.post(
            "/v1/images/generations", headers=user.headers, json={**ECHO, **change}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param

    async def test_a_key_without_the_images_scope_is_403(self, harness: Harness) -> None:
        user = await harness.user("a@example.com", scopes=["chat"])
        response = await harness.client.post(
            "/v1/images/generations", headers=user.headers, json=ECHO
        )
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_error"
