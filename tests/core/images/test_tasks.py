"""The image_generation job handler, end to end against the fake OpenAI upstream."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.errors import ErrorKind, RateLimited, SwitchboardError
from switchboard.core.images.tasks import (
    IMAGE_GENERATION,
    ImageGenerationHandler,
    ImageGenerationParams,
    image_job_types,
)
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.errors import InvalidJobParams
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.llm import GeneratedImage, ImageRequest
from switchboard.core.media.errors import UnsupportedMediaType
from switchboard.core.media.service import MediaService
from switchboard.core.providers.errors import ProviderNotConfigured
from switchboard.core.providers.ports import ChatProvider, ProviderEndpoint
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.kit.db import unit_of_work
from switchboard.models import Job, MediaFile
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.base import FakeUpstream
from tests.fixtures.upstreams.fixtures import OPENAI_TEST_KEY
from tests.fixtures.upstreams.openai_fake import tiny_png
from tests.fixtures.waiting import eventually

PROMPT = "A beautiful sunset over mountains"


class RecordingFetcher:
    """An ImageFetcher that serves canned bytes and records what it was asked."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = data or tiny_png()
        self.calls: list[tuple[str, bool]] = []

    async def fetch(self, url: str, *, trusted: bool = False) -> bytes:
        self.calls.append((url, trusted))
        return self.data


@dataclasses.dataclass
class Env:
    harness: Harness
    storage: LocalMediaStorage
    fetcher: RecordingFetcher
    owner: str
    upstream: FakeUpstream

    def handler(self, **kwargs: Any) -> ImageGenerationHandler:
        providers = kwargs.pop("providers", self.harness.ctx.providers)
        return ImageGenerationHandler(providers, self.storage, self.fetcher, **kwargs)

    async def job(
        self, params: dict[str, Any], owner: str | None = None
    ) -> tuple[JobContext, list[float]]:
        """A job row and a context for running its handler directly."""
        owner = owner or self.owner
        async with self.harness.ctx.unit_of_work() as uow:
            job = Job(user_id=owner, type=IMAGE_GENERATION, params=params)
            uow.session.add(job)
            await uow.session.flush()
            job_id = job.id
        progress: list[float] = []

        async def report(fraction: float, _message: str | None) -> None:
            progress.append(fraction)

        sessions = self.harness.ctx.sessions
        ctx = JobContext(
            job_id=job_id,
            owner_id=owner,
            type=IMAGE_GENERATION,
            attempt=1,
            units=lambda: unit_of_work(sessions),
            report=report,
        )
        return ctx, progress

    async def run(
        self, params: dict[str, Any], **kwargs: Any
    ) -> tuple[dict[str, Any], JobContext, list[float]]:
        ctx, progress = await self.job(params)
        result = await self.handler(**kwargs)(ctx, ImageGenerationParams.model_validate(params))
        return result, ctx, progress

    async def media(self, owner: str, media_id: str) -> tuple[Any, bytes]:
        async with self.harness.ctx.unit_of_work() as uow:
            return await MediaService(uow.session, self.storage).open(owner, media_id)

    async def media_rows(self) -> list[MediaFile]:
        from sqlalchemy import select

        async with self.harness.ctx.unit_of_work() as uow:
            return list(await uow.session.scalars(select(MediaFile)))


@pytest.fixture
async def env(
    harness_factory: Callable[..., Awaitable[Harness]],
    openai_upstream: FakeUpstream,
    tmp_path: Path,
) -> Env:
    harness = await harness_factory(
        openai_api_key=OPENAI_TEST_KEY, openai_base_url=f"{openai_upstream.url}/v1"
    )
    owner = (await harness.user("owner@example.com")).id
    return Env(
        harness, LocalMediaStorage(tmp_path / "media"), RecordingFetcher(), owner, openai_upstream
    )


def _image_requests(upstream: FakeUpstream) -> list[dict[str, Any]]:
    return [r.body for r in upstream.requests if r.path.endswith("/images/generations")]


class TestGenerate:
    async def test_stores_every_image_and_prices_it(self, env: Env) -> None:
        params = {"prompt": PROMPT, "model": "dall-e-2", "size": "512x512", "n": 2}
        result, ctx, progress = await env.run(params)

        [sent] = _image_requests(env.upstream)
        assert sent["model"] == "dall-e-2"
        assert sent["n"] == 2
        assert sent["size"] == "512x512"
        assert sent["quality"] == "standard"
        assert sent["response_format"] == "b64_json"

        assert result["model"] == "dall-e-2"
        assert result["size"] == "512x512"
        assert result["quality"] == "standard"
        assert result["n"] == 2
        assert result["cost"] == result["actual_cost"] == 0.036
        assert result["currency"] == "USD"
        assert result["revised_prompt"] == f"revised: {PROMPT}"
        assert len(result["images"]) == 2
        for image in result["images"]:
            assert image["mime_type"] == "image/png"
            assert image["size_bytes"] == len(tiny_png())
            media, data = await env.media(env.owner, image["media_id"])
            assert data == tiny_png()
            assert media.job_id == ctx.job_id
        assert progress[0] == 0.1 and progress[-1] == 1.0
        assert progress == sorted(progress)

    async def test_dall_e_3_asks_once_per_image_with_its_style(self, env: Env) -> None:
        params = {
            "prompt": PROMPT,
            "model": "dall-e-3",
            "size": "1024x1024",
            "quality": "hd",
            "style": "vivid",
            "n": 2,
        }
        result, _ctx, _progress = await env.run(params)
        sent = _image_requests(env.upstream)
        assert [s["n"] for s in sent] == [1, 1]
        assert all(s["style"] == "vivid" and s["quality"] == "hd" for s in sent)
        assert result["cost"] == 0.16
        assert len({i["media_id"] for i in result["images"]}) == 2

    async def test_redelivery_returns_the_stored_images_without_generating_again(
        self, env: Env
    ) -> None:
        params = {"prompt": PROMPT, "model": "dall-e-2", "n": 3}
        ctx, _progress = await env.job(params)
        handler = env.handler()
        parsed = ImageGenerationParams.model_validate(params)
        first = await handler(ctx, parsed)
        calls = len(_image_requests(env.upstream))
        again = await handler(dataclasses.replace(ctx, attempt=2), parsed)
        assert len(_image_requests(env.upstream)) == calls
        assert [i["media_id"] for i in again["images"]] == [i["media_id"] for i in first["images"]]
        assert again["cost"] == first["cost"] == 0.06
        assert len(await env.media_rows()) == 3

    async def test_upstream_429_propagates_as_rate_limited_and_stores_nothing(
        self, env: Env
    ) -> None:
        env.upstream.fail(status=429, retry_after=7, path_contains="images")
        with pytest.raises(RateLimited) as caught:
            await env.run({"prompt": PROMPT, "model": "dall-e-2"})
        assert caught.value.kind is ErrorKind.RATE_LIMITED
        assert caught.value.retry_after == 7
        assert await env.media_rows() == []

    async def test_upstream_500_is_retryable_and_401_is_not(self, env: Env) -> None:
        env.upstream.fail(status=500, path_contains="images")
        with pytest.raises(SwitchboardError) as caught:
            await env.run({"prompt": PROMPT, "model": "dall-e-2"})
        assert caught.value.kind is ErrorKind.UPSTREAM_UNAVAILABLE
        env.upstream.api_key = "sk-another-key"
        with pytest.raises(SwitchboardError) as caught:
            await env.run({"prompt": PROMPT, "model": "dall-e-2"})
        assert caught.value.kind in (ErrorKind.UPSTREAM_REJECTED, ErrorKind.UNAUTHENTICATED)
        assert OPENAI_TEST_KEY not in caught.value.message

    async def test_a_users_own_connection_serves_the_call(
        self,
        harness_factory: Callable[..., Awaitable[Harness]],
        openai_upstream: FakeUpstream,
        tmp_path: Path,
    ) -> None:
        harness = await harness_factory()  # no operator credentials
        owner = (await harness.user("conn@example.com")).id
        other = (await harness.user("nokey@example.com")).id
        await harness.run(
            lambda s: s.providers.save_connection(
                owner,
                "openai",
                api_key=OPENAI_TEST_KEY,
                base_url=f"{openai_upstream.url}/v1",
                allow_private=True,
            )
        )
        env = Env(
            harness, LocalMediaStorage(tmp_path / "m2"), RecordingFetcher(), owner, openai_upstream
        )
        result, _ctx, _progress = await env.run({"prompt": PROMPT, "model": "dall-e-2"})
        assert len(result["images"]) == 1
        assert _image_requests(openai_upstream)[0]["prompt"] == PROMPT

        ctx, _ = await env.job({"prompt": PROMPT, "model": "dall-e-2"}, owner=other)
        with pytest.raises(ProviderNotConfigured):
            await env.handler()(ctx, ImageGenerationParams(prompt=PROMPT, model="dall-e-2"))

    async def test_images_of_one_user_are_not_found_for_another(self, env: Env) -> None:
        result, _ctx, _progress = await env.run({"prompt": PROMPT, "model": "dall-e-2"})
        stranger = (await env.harness.user("stranger@example.com")).id
        with pytest.raises(SwitchboardError) as caught:
            await env.media(stranger, result["images"][0]["media_id"])
        assert caught.value.kind is ErrorKind.NOT_FOUND

    async def test_the_echo_provider_works_offline(self, env: Env) -> None:
        result, _ctx, _progress = await env.run(
            {"prompt": PROMPT, "model": "dall-e-2", "provider": "echo", "n": 2}
        )
        assert [i["mime_type"] for i in result["images"]] == ["image/png", "image/png"]
        assert result["provider"] == "echo"
        assert _image_requests(env.upstream) == []

    async def test_usage_is_recorded_with_the_cost(self, env: Env) -> None:
        written: list[UsageEntry] = []

        async def write(entries: Sequence[UsageEntry]) -> None:
            written.extend(entries)

        recorder = UsageRecorder(write)
        await env.run({"prompt": PROMPT, "model": "dall-e-3", "quality": "hd"}, recorder=recorder)
        await recorder.flush()
        [entry] = written
        assert (entry.user_id, entry.kind, entry.provider, entry.model) == (
            env.owner,
            "image",
            "openai",
            "dall-e-3",
        )
        assert entry.cost_usd == 0.08


class _UrlProvider:
    """A provider that answers with URLs, as some OpenAI-compatible servers do."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[ImageRequest] = []

    async def generate_image(self, request: ImageRequest) -> list[GeneratedImage]:
        self.requests.append(request)
        return [GeneratedImage(url=self.url, revised_prompt=None)] * request.n


class _Factory:
    def __init__(self, provider: _UrlProvider) -> None:
        self.provider_ = provider
        self.endpoints: list[ProviderEndpoint] = []

    def provider(self, endpoint: ProviderEndpoint) -> ChatProvider:
        self.endpoints.append(endpoint)
        return self.provider_  # type: ignore[return-value]

    async def aclose(self) -> None:
        return None


class TestUrlResults:
    def _providers(self, env: Env, url: str) -> Any:
        return dataclasses.replace(env.harness.ctx.providers, factory=_Factory(_UrlProvider(url)))

    async def test_urls_on_the_trusted_operator_origin_are_fetched_as_trusted(
        self, env: Env
    ) -> None:
        url = f"{env.upstream.url}/files/image.png"
        result, _ctx, _ = await env.run(
            {"prompt": PROMPT, "model": "dall-e-2", "n": 2}, providers=self._providers(env, url)
        )
        assert env.fetcher.calls == [(url, True), (url, True)]
        assert len(result["images"]) == 2

    async def test_urls_elsewhere_are_fetched_untrusted(self, env: Env) -> None:
        url = "https://cdn.example.com/image.png"
        await env.run({"prompt": PROMPT, "model": "dall-e-2"}, providers=self._providers(env, url))
        assert env.fetcher.calls == [(url, False)]

    async def test_an_svg_behind_a_url_is_refused_and_nothing_is_kept(self, env: Env) -> None:
        env.fetcher.data = (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        )
        with pytest.raises(UnsupportedMediaType):
            await env.run(
                {"prompt": PROMPT, "model": "dall-e-2", "n": 2},
                providers=self._providers(env, "https://cdn.example.com/x.svg"),
            )
        assert await env.media_rows() == []


class TestParams:
    registry = JobRegistry()

    @classmethod
    def setup_class(cls) -> None:
        for job_type in image_job_types(None, None, None):  # type: ignore[arg-type]
            cls.registry.register(job_type)

    def test_the_job_type(self) -> None:
        job_type = self.registry.get(IMAGE_GENERATION)
        assert job_type.params is ImageGenerationParams
        assert job_type.max_attempts == 3

    def test_defaults_are_filled_from_the_table(self) -> None:
        params = self.registry.validate(IMAGE_GENERATION, {"prompt": "x", "model": "dall-e-3"})
        assert params.model_dump() == {
            "prompt": "x",
            "model": "dall-e-3",
            "size": "1024x1024",
            "quality": "standard",
            "style": None,
            "n": 1,
            "provider": "openai",
            # Options of the workflow engine only (tests/core/images/test_engine_jobs.py).
            "negative_prompt": None,
            "steps": None,
            "cfg": None,
            "sampler": None,
            "scheduler": None,
            "seed": None,
        }
        gpt = self.registry.validate(IMAGE_GENERATION, {"prompt": "x", "model": "gpt-image-1"})
        assert gpt.model_dump()["quality"] == "medium"

    @pytest.mark.parametrize(
        ("params", "param", "message"),
        [
            ({"prompt": "x", "model": "dall-e-4"}, "model", "Invalid model"),
            (
                {"prompt": "x", "model": "dall-e-3", "size": "512x512"},
                "size",
                "Invalid size/quality",
            ),
            (
                {"prompt": "x", "model": "dall-e-2", "quality": "hd"},
                "quality",
                "Invalid size/quality",
            ),
            ({"prompt": "x", "model": "dall-e-3", "style": "noir"}, "style", "style must be"),
            ({"prompt": "x", "model": "dall-e-2", "n": 5}, "n", ""),
            ({"prompt": "x", "model": "dall-e-2", "n": 0}, "n", ""),
            ({"prompt": "", "model": "dall-e-2"}, "prompt", ""),
            ({"prompt": "x" * 4001, "model": "dall-e-2"}, "prompt", ""),
            ({"model": "dall-e-2"}, "prompt", ""),
            ({"prompt": "x", "model": "dall-e-2", "url": "http://x"}, "url", ""),
            ({"prompt": "x", "model": "dall-e-2", "provider": "nope"}, "provider", "Unknown"),
        ],
    )
    def test_refusals_name_the_field(
        self, params: dict[str, Any], param: str, message: str
    ) -> None:
        with pytest.raises(InvalidJobParams) as caught:
            self.registry.validate(IMAGE_GENERATION, params)
        assert caught.value.param == param
        assert message in caught.value.message

    def test_provider_names_are_canonical(self) -> None:
        params = self.registry.validate(
            IMAGE_GENERATION, {"prompt": "x", "model": "dall-e-2", "provider": " OpenAI "}
        )
        assert params.model_dump()["provider"] == "openai"

    def test_a_4000_character_prompt_is_fine(self) -> None:
        self.registry.validate(IMAGE_GENERATION, {"prompt": "x" * 4000, "model": "dall-e-2"})


async def test_a_real_job_runs_through_the_runner(env: Env) -> None:
    """Created through JobService, run by the app's runtime, result and cost on the row."""
    from switchboard.core.jobs.schemas import JobCreate, JobRead

    harness = env.harness
    assert IMAGE_GENERATION in harness.ctx.jobs.registry.names()
    async with harness.ctx.unit_of_work() as uow:
        estimate = harness.ctx.services(uow).images.estimate_cost("dall-e-2", "256x256", None, 2)
    created = await harness.run(
        lambda s: s.jobs.create(
            env.owner,
            JobCreate(
                type=IMAGE_GENERATION,
                params={"prompt": PROMPT, "model": "dall-e-2", "size": "256x256", "n": 2},
                estimated_cost=estimate.estimated_cost,
            ),
        )
    )

    async def finished() -> JobRead | None:
        job: JobRead = await harness.run(lambda s: s.jobs.get(env.owner, created.id))
        return job if job.status in ("completed", "failed", "cancelled") else None

    job = await eventually(finished, timeout=10, what="the job to finish")
    assert job.status == "completed", job
    assert job.actual_cost == job.estimated_cost == 0.032
    assert job.result is not None
    [first, _second] = job.result["images"]
    download = await harness.run(lambda s: s.media.download(env.owner, first["media_id"]))
    assert download.body == tiny_png()
    assert download.headers["X-Content-Type-Options"] == "nosniff"
