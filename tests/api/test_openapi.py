"""Issue 12, item 9: `/docs` works offline and the OpenAPI document tells the truth.

Swagger UI and ReDoc load nothing from another host; the document declares the
security schemes and, per route, the errors it answers in its face's envelope (the real
error bodies match those schemas); a 405 lists every method of the path in `Allow`.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from tests.fixtures.app import Harness

ASSET = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


def _validates(document: dict[str, Any], ref: str, body: Any) -> bool:
    schema = {"$ref": ref, "components": document["components"]}
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


class TestDocsOffline:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_every_asset_is_served_here(self, harness: Harness, page: str) -> None:
        response = await harness.client.get(page)
        assert response.status_code == 200
        urls = ASSET.findall(response.text)
        assert any(url.endswith(".js") for url in urls), urls
        assert "://" not in response.text.replace("http://www.w3.org", "")
        for url in urls:
            assert url.startswith("/"), url
            asset = await harness.client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url

    async def test_pocketllm_legacy_path_leads_to_the_same_ui(self, harness: Harness) -> None:
        response = await harness.client.get("/api/docs")
        assert response.status_code == 307
        assert response.headers["location"] == "/docs"

    async def test_hidden_when_docs_are_off(self, harness_factory) -> None:  # type: ignore[no-untyped-def]
        harness = await harness_factory(env="production")
        for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js", "/api/docs"):
            assert (await harness.client.get(path)).status_code == 404, path


class TestSecurity:
    async def test_schemes_let_authorize_work(self, harness: Harness) -> None:
        document = (await harness.client.get("/openapi.json")).json()
        schemes = document["components"]["securitySchemes"]
        assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
        assert schemes["pm_session"]["in"] == "cookie"
        paths = document["paths"]
        assert paths["/v1/chats"]["get"]["security"] == [{"bearer": []}]
        assert paths["/me"]["get"]["security"] == [{"bearer": []}, {"pm_session": []}]
        assert "security" not in paths["/v1/auth/signin"]["post"]
        assert "security" not in paths["/health"]["get"]


class TestErrorResponses:
    @pytest.mark.parametrize(
        ("path", "method", "status", "envelope"),
        [
            ("/v1/chats", "get", "401", "Error_pocketllm"),
            ("/v1/chats/{chat_id}", "get", "404", "Error_pocketllm"),
            ("/v1/chats", "post", "400", "Error_pocketllm"),
            ("/me", "get", "401", "Error_pluginmind"),
            ("/process", "post", "422", "Error_pluginmind"),
            ("/switchboard/v1/jobs/{job_id}", "get", "404", "Error_switchboard"),
            ("/switchboard/v1/jobs", "post", "422", "Error_switchboard"),
            ("/v1/chat/completions", "post", "429", "Error_openai"),
            ("/v1/chat/completions", "post", "503", "Error_openai"),
        ],
    )
    async def test_listed_in_the_face_envelope(
        self, harness: Harness, path: str, method: str, status: str, envelope: str
    ) -> None:
        document = (await harness.client.get("/openapi.json")).json()
        response = document["paths"][path][method]["responses"][status]
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{envelope}"}

    async def test_faces_that_answer_400_do_not_list_422(self, harness: Harness) -> None:
        document = (await harness.client.get("/openapi.json")).json()
        assert "422" not in document["paths"]["/v1/chats"]["post"]["responses"]
        assert "422" not in document["paths"]["/v1/embeddings"]["post"]["responses"]

    @pytest.mark.parametrize(
        ("path", "envelope"),
        [
            ("/v1/chats", "Error_pocketllm"),
            ("/me", "Error_pluginmind"),
            ("/switchboard/v1/jobs", "Error_switchboard"),
        ],
    )
    async def test_real_errors_match_the_documented_schema(
        self, harness: Harness, path: str, envelope: str
    ) -> None:
        document = (await harness.client.get("/openapi.json")).json()
        response = await harness.client.get(path)
        assert response.status_code == 401
        assert "401" in document["paths"][path]["get"]["responses"]
        assert _validates(document, f"#/components/schemas/{envelope}", response.json())
        assert not _validates(document, f"#/components/schemas/{envelope}", {"detail": "x"})


class TestEnforcedRules:
    async def test_enums_and_bounds(self, harness: Harness) -> None:
        document = (await harness.client.get("/openapi.json")).json()
        jobs = {p["name"]: p["schema"] for p in document["paths"]["/v1/jobs"]["get"]["parameters"]}
        assert set(jobs["status"]["enum"]) >= {"pending", "processing", "cancelled"}
        assert jobs["offset"]["maximum"] == 2**31 - 1
        chat = document["paths"]["/v1/chats/{chat_id}"]["get"]["parameters"][0]["schema"]
        assert chat["minLength"] == 1
        assert chat["pattern"] == r"^[^/\x00]+$"

    async def test_job_types_are_the_public_ones(self, harness_factory) -> None:  # type: ignore[no-untyped-def]
        harness = await harness_factory(extra_task_modules=["tests.fixtures.jobs"])
        document = (await harness.client.get("/openapi.json")).json()
        variants = document["components"]["schemas"]["JobRequest"]["oneOf"]
        types = {variant["properties"]["type"]["const"] for variant in variants}
        assert "test.echo" in types
        assert not any(name.startswith("image") or name == "analysis" for name in types)


class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("OPTIONS", "/switchboard/v1/jobs", "GET, POST"),
            ("PUT", "/switchboard/v1/jobs/abc", "GET, DELETE"),
            ("PATCH", "/v1/jobs/abc", "GET, DELETE"),
            ("OPTIONS", "/v1/models/abc/default", "POST"),
        ],
    )
    async def test_allow_lists_every_method_of_the_path(
        self, harness: Harness, method: str, path: str, allow: str
    ) -> None:
        response = await harness.client.request(method, path)
        assert response.status_code == 405
        assert response.headers["allow"] == allow

    async def test_answered_in_the_face_envelope(self, harness: Harness) -> None:
        response = await harness.client.request("PUT", "/v1/jobs/abc")
        assert response.json()["success"] is False
        response = await harness.client.request("PUT", "/switchboard/v1/jobs")
        assert response.json()["error"]["code"] == "http_405"
