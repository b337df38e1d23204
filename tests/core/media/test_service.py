"""MediaService: raster types only (by their bytes), owner scoping, forced download headers."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.errors import ErrorKind, NotFound, SwitchboardError
from switchboard.core.media.errors import MediaNotFound, MediaTooLarge, UnsupportedMediaType
from switchboard.core.media.schemas import MediaRead
from switchboard.core.media.service import MediaService
from switchboard.core.media.sniff import sniff_image
from switchboard.models import MediaFile
from tests.fixtures.app import Harness
from tests.fixtures.upstreams.openai_fake import tiny_png

PNG = tiny_png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


@pytest.fixture
async def owner(harness: Harness) -> str:
    return (await harness.user("owner@example.com")).id


@pytest.fixture
async def other(harness: Harness) -> str:
    return (await harness.user("other@example.com")).id


@pytest.fixture
def media(
    harness: Harness, storage: LocalMediaStorage
) -> Callable[[Callable[[MediaService], Awaitable[Any]]], Awaitable[Any]]:
    """Run work against a MediaService in a committed unit of work."""

    async def run(work: Callable[[MediaService], Awaitable[Any]]) -> Any:
        async with harness.ctx.unit_of_work() as uow:
            return await work(MediaService(uow.session, storage, after_commit=uow.after_commit))

    return run


Run = Callable[[Callable[[MediaService], Awaitable[Any]]], Awaitable[Any]]


class TestSniff:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
    )
    def test_raster_types(self, data: bytes, expected: str) -> None:
        assert sniff_image(data) == expected

    @pytest.mark.parametrize(
        "data",
        [
            SVG,
            HTML,
            b"<svg/onload=alert(1)>",
            b"RIFF\x00\x00\x00\x00WAVE",
            b"%PDF-1.7",
            b"",
            b"\x89PN",
        ],
    )
    def test_everything_else(self, data: bytes) -> None:
        assert sniff_image(data) is None


class TestSave:
    @pytest.mark.parametrize(
        ("data", "mime", "ext"),
        [
            (PNG, "image/png", "png"),
            (JPEG, "image/jpeg", "jpg"),
            (GIF, "image/gif", "gif"),
            (WEBP, "image/webp", "webp"),
        ],
    )
    async def test_stores_each_raster_type(
        self, media: Run, storage: LocalMediaStorage, owner: str, data: bytes, mime: str, ext: str
    ) -> None:
        saved: MediaRead = await media(lambda s: s.save(owner, data, mime, filename="pic"))
        assert saved.mime_type == mime
        assert saved.size_bytes == len(data)
        assert saved.sha256 == hashlib.sha256(data).hexdigest()
        assert saved.filename == "pic"
        row = await _row(media, saved.id)
        assert row.storage_key.startswith(f"{owner}/") and row.storage_key.endswith(f".{ext}")
        assert await storage.get(row.storage_key) == data

    async def test_the_bytes_decide_the_type(self, media: Run, owner: str) -> None:
        saved = await media(lambda s: s.save(owner, JPEG, "image/png"))
        assert saved.mime_type == "image/jpeg"
        saved = await media(lambda s: s.save(owner, PNG, "application/octet-stream"))
        assert saved.mime_type == "image/png"
        saved = await media(lambda s: s.save(owner, PNG, None))
        assert saved.mime_type == "image/png"

    @pytest.mark.parametrize(
        ("data", "mime"),
        [
            (SVG, "image/svg+xml"),
            (SVG, "image/png"),  # an SVG pretending to be a PNG
            (HTML, "text/html"),
            (HTML, "image/png"),
            (PNG, "image/svg+xml"),  # a declared SVG is refused whatever the bytes
            (PNG, "text/html; charset=utf-8"),
            (b"%PDF-1.7 ...", "application/pdf"),
            (b"plain text", None),
        ],
    )
    async def test_refuses_svg_html_and_the_rest(
        self,
        media: Run,
        storage: LocalMediaStorage,
        tmp_path: Path,
        owner: str,
        data: bytes,
        mime: str | None,
    ) -> None:
        with pytest.raises(UnsupportedMediaType) as caught:
            await media(lambda s: s.save(owner, data, mime))
        assert caught.value.kind is ErrorKind.INVALID
        assert caught.value.param == "mime_type"
        assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))

    async def test_size_cap_and_empty(
        self, harness: Harness, storage: LocalMediaStorage, owner: str
    ) -> None:
        async with harness.ctx.unit_of_work() as uow:
            service = MediaService(uow.session, storage, max_bytes=len(PNG) - 1)
            with pytest.raises(MediaTooLarge):
                await service.save(owner, PNG, "image/png")
            with pytest.raises(MediaTooLarge):
                await service.save(owner, b"", "image/png")

    async def test_filename_is_reduced_to_a_display_name(self, media: Run, owner: str) -> None:
        saved = await media(lambda s: s.save(owner, PNG, filename="../../etc/pass wd\r\n.png"))
        assert saved.filename == "pass_wd_.png"
        saved = await media(lambda s: s.save(owner, PNG, filename="..\\..\\x.png"))
        assert saved.filename == "x.png"
        saved = await media(lambda s: s.save(owner, PNG, filename="..."))
        assert saved.filename is None


class TestRead:
    async def test_get_and_open(self, media: Run, owner: str) -> None:
        saved = await media(lambda s: s.save(owner, PNG, "image/png"))
        assert (await media(lambda s: s.get(owner, saved.id))).id == saved.id
        read, data = await media(lambda s: s.open(owner, saved.id))
        assert read == saved
        assert data == PNG

    async def test_another_users_file_is_not_found(
        self, media: Run, owner: str, other: str
    ) -> None:
        saved = await media(lambda s: s.save(owner, PNG, "image/png"))
        for action in ("get", "open", "download", "delete"):
            with pytest.raises(MediaNotFound) as caught:
                await media(partial(_act, action=action, owner=other, media_id=saved.id))
            assert caught.value.kind is ErrorKind.NOT_FOUND
        # Still there for its owner.
        assert (await media(lambda s: s.get(owner, saved.id))).id == saved.id

    @pytest.mark.parametrize(
        "media_id",
        ["not-a-uuid", "", "../x", "00000000-0000-4000-8000-000000000000", "%00"],
    )
    async def test_unknown_ids_are_not_found(self, media: Run, owner: str, media_id: str) -> None:
        with pytest.raises(MediaNotFound):
            await media(lambda s: s.get(owner, media_id))

    async def test_id_spelling_is_canonicalised(self, media: Run, owner: str) -> None:
        saved = await media(lambda s: s.save(owner, PNG))
        assert (await media(lambda s: s.get(owner, saved.id.upper()))).id == saved.id
        assert (await media(lambda s: s.get(owner, "{" + saved.id + "}"))).id == saved.id

    async def test_missing_bytes_are_not_found(
        self, media: Run, storage: LocalMediaStorage, owner: str
    ) -> None:
        saved = await media(lambda s: s.save(owner, PNG))
        await storage.delete((await _row(media, saved.id)).storage_key)
        with pytest.raises(MediaNotFound):
            await media(lambda s: s.open(owner, saved.id))

    async def test_download_forces_the_raster_type_and_safety_headers(
        self, media: Run, owner: str
    ) -> None:
        saved = await media(lambda s: s.save(owner, GIF, "image/gif", filename='evil".html'))
        download = await media(lambda s: s.download(owner, saved.id))
        assert download.body == GIF
        assert download.media_type == "image/gif"
        headers = download.headers
        assert headers["Content-Type"] == "image/gif"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        # The name comes from the id, never from the user's filename.
        assert headers["Content-Disposition"] == f'inline; filename="{saved.id}.gif"'
        assert headers["Content-Length"] == str(len(GIF))

    async def test_for_job_lists_only_that_jobs_files_of_that_owner(
        self, harness: Harness, media: Run, owner: str, other: str
    ) -> None:
        job_id = await _job(harness, owner)
        first = await media(lambda s: s.save(owner, PNG, job_id=job_id, filename="image-1"))
        second = await media(lambda s: s.save(owner, JPEG, job_id=job_id, filename="image-2"))
        await media(lambda s: s.save(owner, PNG))
        assert [m.id for m in await media(lambda s: s.for_job(owner, job_id))] == [
            first.id,
            second.id,
        ]
        assert await media(lambda s: s.for_job(other, job_id)) == []


class TestDelete:
    async def test_bytes_go_only_after_the_commit(
        self, harness: Harness, media: Run, storage: LocalMediaStorage, owner: str
    ) -> None:
        saved = await media(lambda s: s.save(owner, PNG))
        key = (await _row(media, saved.id)).storage_key

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with harness.ctx.unit_of_work() as uow:
                await MediaService(uow.session, storage, after_commit=uow.after_commit).delete(
                    owner, saved.id
                )
                raise Boom
        # Rolled back: the row and the bytes are both still there.
        assert (await media(lambda s: s.open(owner, saved.id)))[1] == PNG

        await media(lambda s: s.delete(owner, saved.id))
        assert not await storage.exists(key)
        with pytest.raises(NotFound):
            await media(lambda s: s.get(owner, saved.id))

    async def test_without_a_hook_bytes_go_at_once(
        self, harness: Harness, storage: LocalMediaStorage, owner: str
    ) -> None:
        async with harness.ctx.unit_of_work() as uow:
            service = MediaService(uow.session, storage)
            saved = await service.save(owner, PNG)
            await service.delete(owner, saved.id)
        assert not any(p.is_file() for p in (storage._root).rglob("*"))


async def test_services_expose_media_on_the_context_storage(harness: Harness, owner: str) -> None:
    saved = await harness.run(lambda s: s.media.save(owner, PNG, "image/png"))
    assert (await harness.run(lambda s: s.media.open(owner, saved.id)))[1] == PNG
    media_dir = harness.settings.resolved_media_dir
    assert media_dir == harness.settings.resolved_data_dir / "media"
    assert any(p.is_file() for p in media_dir.rglob("*.png"))


async def _row(media: Run, media_id: str) -> MediaFile:
    async def load(service: MediaService) -> MediaFile:
        row = await service._repo._session.get(MediaFile, media_id)
        assert row is not None
        return row

    row: MediaFile = await media(load)
    return row


async def _job(harness: Harness, owner: str) -> str:
    from switchboard.models import Job

    async with harness.ctx.unit_of_work() as uow:
        job = Job(user_id=owner, type="image_generation", params={})
        uow.session.add(job)
        await uow.session.flush()
        return job.id


def _is_error(exc: BaseException) -> bool:
    return isinstance(exc, SwitchboardError)


async def _act(service: MediaService, *, action: str, owner: str, media_id: str) -> Any:
    return await getattr(service, action)(owner, media_id)
