"""Generating images: the provider call, the fetch of returned URLs and the stored files.

Shared by the `image_generation` job (`tasks.py`) and the synchronous gateway route
(`ImageGenerationService`), so that both call providers in the same batches, fetch URLs
under the same outbound policy and price images the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.core.conversations.completions import Caller
from switchboard.core.errors import UpstreamUnavailable
from switchboard.core.images.ports import ImageFetcher
from switchboard.core.images.schemas import ImageSpec, cost_of
from switchboard.core.llm import GeneratedImage, ImageRequest
from switchboard.core.media.schemas import MediaRead
from switchboard.core.media.service import MediaService
from switchboard.core.providers.capabilities import images_of
from switchboard.core.providers.ports import ImageProvider, ProviderEndpoint
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.kit import netpolicy

Progress = Callable[[float, str | None], Awaitable[None]]
"""Where a long generation reports how far it got (0..1); jobs pass their progress."""


@dataclass(frozen=True, slots=True)
class ImagePayload:
    """One generated image's bytes, its type and the prompt the provider really used."""

    data: bytes
    mime_type: str
    revised_prompt: str | None


async def _silent(_fraction: float, _message: str | None) -> None:
    return None


async def generate_images(
    provider: ImageProvider, spec: ImageSpec, prompt: str, progress: Progress = _silent
) -> list[GeneratedImage]:
    """All `spec.n` images, in as many upstream calls as the model needs (dall-e-3: one each)."""
    images: list[GeneratedImage] = []
    while len(images) < spec.n:
        batch = min(spec.n - len(images), spec.max_per_request)
        request = ImageRequest(
            model=spec.model,
            prompt=prompt,
            size=spec.size,
            quality=spec.quality,
            n=batch,
            style=spec.style,
        )
        got = await provider.generate_image(request)
        if not got:
            raise UpstreamUnavailable("the provider returned no images")
        images.extend(got[:batch])
        await progress(0.1 + 0.5 * len(images) / spec.n, "Generating images")
    return images


async def fetch_images(
    fetcher: ImageFetcher,
    images: list[GeneratedImage],
    endpoint: ProviderEndpoint,
    progress: Progress = _silent,
) -> list[ImagePayload]:
    """Each image's bytes; URLs go through the hardened fetch, never a plain client."""
    payloads: list[ImagePayload] = []
    for index, image in enumerate(images, start=1):
        if image.data is not None:
            data = image.data
        elif image.url:
            data = await fetcher.fetch(image.url, trusted=trusted_url(endpoint, image.url))
        else:
            raise UpstreamUnavailable("the provider returned an image without data")
        payloads.append(ImagePayload(data, image.mime_type, image.revised_prompt))
        await progress(0.6 + 0.3 * index / len(images), "Fetching images")
    return payloads


async def store_images(
    media: MediaService,
    owner_id: str,
    payloads: list[ImagePayload],
    job_id: str | None = None,
    *,
    attributes: Mapping[str, Any] | None = None,
) -> list[MediaRead]:
    """Save every image as the owner's media, numbered in order (inside the caller's unit
    of work: a rollback keeps none of them); `attributes` are kept with each image."""
    return [
        await media.save(
            owner_id,
            payload.data,
            payload.mime_type,
            job_id=job_id,
            filename=f"image-{index}",
            attributes={
                **(attributes or {}),
                "index": index,
                "revised_prompt": payload.revised_prompt,
            },
        )
        for index, payload in enumerate(payloads, start=1)
    ]


def image_usage(
    owner_id: str,
    source: str,
    endpoint: ProviderEndpoint,
    spec: ImageSpec,
    count: int,
    api_key_id: str | None = None,
) -> UsageEntry:
    """The usage entry of `count` images of `spec`."""
    return UsageEntry(
        user_id=owner_id,
        source=source,
        provider=endpoint.provider,
        model=spec.model,
        cost_usd=cost_of(spec.unit_cost, count),
        kind="image",
        api_key_id=api_key_id,
    )


def trusted_url(endpoint: ProviderEndpoint, url: str) -> bool:
    """Trust a URL only on the trusted endpoint's own origin (an operator's local server)."""
    if not endpoint.trusted or not endpoint.base_url:
        return False
    try:
        return netpolicy.origin_of(url) == netpolicy.origin_of(endpoint.base_url)
    except netpolicy.BlockedUrl:
        return False


class ImageGenerationService:
    """Generates images while the caller waits (OpenAI's synchronous images API).

    `checkpoint` is awaited once the endpoint is resolved and before the provider is
    called: the unit of work's owner commits there, so no database connection is held
    while the provider draws (which can take a minute).
    """

    def __init__(
        self,
        providers: ProviderService,
        setup: ProviderSetup,
        media: MediaService,
        fetcher: ImageFetcher,
        recorder: UsageRecorder,
        *,
        checkpoint: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._providers = providers
        self._setup = setup
        self._media = media
        self._fetcher = fetcher
        self._recorder = recorder
        self._checkpoint = checkpoint

    async def generate(
        self, caller: Caller, provider: str, spec: ImageSpec, prompt: str
    ) -> list[ImagePayload]:
        """The images of `spec` from `caller`'s endpoint for `provider`; usage is recorded."""
        endpoint = await self._providers.endpoint_for(caller.user_id, provider)
        if self._checkpoint is not None:
            await self._checkpoint()
        generated = await generate_images(images_of(self._setup.factory, endpoint), spec, prompt)
        payloads = await fetch_images(self._fetcher, generated, endpoint)
        self._recorder.record(
            image_usage(
                caller.user_id, caller.source, endpoint, spec, len(payloads), caller.api_key_id
            )
        )
        return payloads

    async def keep(self, owner_id: str, payloads: list[ImagePayload]) -> list[MediaRead]:
        """Store the images as the owner's media (served only to the owner)."""
        return await store_images(self._media, owner_id, payloads)
