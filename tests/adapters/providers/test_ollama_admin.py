"""Contract tests: Ollama's model administration against the fake Ollama server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from switchboard.adapters.http import OutboundClients
from switchboard.adapters.providers.ollama import OllamaProvider
from switchboard.adapters.providers.ollama.admin import canonical
from switchboard.core.errors import NotFound, UpstreamRejected, UpstreamUnavailable
from switchboard.core.providers.ports import LocalModel, ModelStatus
from tests.adapters.providers.vendor_kit import fake_endpoint
from tests.fixtures.network import refusing_port
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.ollama_fake import loaded_models

MODEL = "llama-fake:latest"
# A model pulled from a registry path, with a tag: both separators must pass untouched.
NAMESPACED = "hf.co/fake-org/fake-model-GGUF:Q4_K_M"


@pytest.fixture
def ollama(ollama_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    """The fake with nothing loaded and one namespaced model installed besides."""
    loaded_models(ollama_upstream).clear()
    ollama_upstream.models.append(NAMESPACED)
    yield ollama_upstream
    ollama_upstream.models.remove(NAMESPACED)
    loaded_models(ollama_upstream).clear()


def admin(
    upstream: FakeUpstream, clients: OutboundClients, base_url: str | None = None
) -> OllamaProvider:
    endpoint = fake_endpoint("ollama", upstream, key=None, base_url=base_url)
    return OllamaProvider(endpoint, clients, timeout=5.0, connect_timeout=2.0)


class TestLocalModels:
    async def test_lists_installed_models_with_size_and_loaded_state(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        loaded_models(ollama)[MODEL] = "2099-01-01T00:00:00Z"

        models = await admin(ollama, vendor_clients).local_models()

        by_name = {m.name: m for m in models}
        assert list(by_name) == ollama.models
        assert by_name[MODEL] == LocalModel(
            name=MODEL,
            size=4_000_000_000,
            loaded=True,
            modified_at="2025-01-01T00:00:00+00:00",
            family="llama",
            parameter_size="8B",
            quantization_level="Q4_K_M",
        )
        assert not by_name["nomic-fake:latest"].loaded
        assert {r.path for r in ollama.requests} == {"/api/tags", "/api/ps"}


class TestModelDetails:
    async def test_details_from_show(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        details = await admin(ollama, vendor_clients).model_details(MODEL)

        assert details.name == MODEL
        assert details.template == "{{ .Prompt }}"
        assert details.parameters is not None and "num_ctx 8192" in details.parameters
        assert details.license == "FAKE LICENSE 1.0"
        assert details.capabilities == ("completion", "tools")
        assert details.context_length == 8192
        assert (details.family, details.parameter_size) == ("llama", "8B")
        assert ollama.requests[-1].body == {"model": MODEL}

    async def test_context_length_of_another_architecture(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        details = await admin(ollama, vendor_clients).model_details("nomic-fake")

        assert details.context_length == 2048
        assert details.capabilities == ("embedding",)

    async def test_namespaced_name_with_a_tag(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        details = await admin(ollama, vendor_clients).model_details(NAMESPACED)

        assert details.name == NAMESPACED
        assert ollama.requests[-1].body == {"model": NAMESPACED}


class TestLoadAndUnload:
    async def test_load_asks_generate_without_a_prompt(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        status = await admin(ollama, vendor_clients).load_model(MODEL)

        assert status.loaded and status.name == MODEL
        assert status.size_vram == 4_500_000_000 and status.expires_at is not None
        load = next(r for r in ollama.requests if r.path == "/api/generate")
        # No prompt (Ollama loads and answers at once), no keep_alive: the server's own.
        assert load.body == {"model": MODEL, "stream": False}
        assert MODEL in loaded_models(ollama)

    async def test_unload_sends_keep_alive_zero(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        provider = admin(ollama, vendor_clients)
        await provider.load_model(NAMESPACED)

        status = await provider.unload_model(NAMESPACED)

        assert status == ModelStatus(name=NAMESPACED, loaded=False)
        assert ollama.requests[-1].body == {"model": NAMESPACED, "stream": False, "keep_alive": 0}
        assert loaded_models(ollama) == {}
        assert not (await provider.model_status(NAMESPACED)).loaded

    async def test_a_bare_name_means_latest(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        provider = admin(ollama, vendor_clients)

        status = await provider.load_model("llama-fake")

        assert status.loaded and status.name == "llama-fake"
        assert (await provider.model_status("llama-fake:latest")).loaded


class TestModelStatus:
    async def test_loaded_model(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        loaded_models(ollama)[MODEL] = "2099-01-01T00:00:00Z"

        status = await admin(ollama, vendor_clients).model_status(MODEL)

        assert status.loaded
        assert status.expires_at == "2099-01-01T00:00:00+00:00"
        assert [r.path for r in ollama.requests] == ["/api/ps"]

    async def test_installed_but_not_loaded(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        status = await admin(ollama, vendor_clients).model_status(MODEL)

        assert status == ModelStatus(name=MODEL, loaded=False)
        assert [r.path for r in ollama.requests] == ["/api/ps", "/api/show"]


class TestErrors:
    @pytest.mark.parametrize(
        "call", ["model_details", "load_model", "unload_model", "model_status"]
    )
    async def test_a_model_that_is_not_installed_is_not_found(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients, call: str
    ) -> None:
        with pytest.raises(NotFound) as caught:
            await getattr(admin(ollama, vendor_clients), call)("ghost:7b")

        assert caught.value.code == "model_not_found"
        assert caught.value.message == "Model 'ghost:7b' is not installed on this Ollama server."

    @pytest.mark.parametrize("call", ["local_models", "model_status", "load_model"])
    async def test_server_down_is_unavailable(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients, call: str
    ) -> None:
        with refusing_port() as port:
            provider = admin(ollama, vendor_clients, base_url=f"http://127.0.0.1:{port}")
            with pytest.raises(UpstreamUnavailable, match="could not be reached"):
                if call == "local_models":
                    await provider.local_models()
                else:
                    await getattr(provider, call)(MODEL)

    async def test_a_failing_server_is_unavailable(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        ollama.fail(status=500, path_contains="/api/ps")

        with pytest.raises(UpstreamUnavailable) as caught:
            await admin(ollama, vendor_clients).model_status(MODEL)

        assert caught.value.upstream_status == 500

    async def test_a_refused_credential_is_rejected_not_missing(
        self, ollama: FakeUpstream, vendor_clients: OutboundClients
    ) -> None:
        ollama.fail(status=401, path_contains="/api/show")

        with pytest.raises(UpstreamRejected):
            await admin(ollama, vendor_clients).model_details(MODEL)


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("llama3.2:1b", "llama3.2:1b"),
        ("hf.co/org/model", "hf.co/org/model:latest"),
        ("hf.co/org/model:Q4_K_M", "hf.co/org/model:Q4_K_M"),
        ("registry.local:5000/team/model", "registry.local:5000/team/model:latest"),
    ],
)
def test_canonical_names(name: str, full: str) -> None:
    assert canonical(name) == full
