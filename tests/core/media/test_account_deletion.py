"""Deleting an account removes its stored files too, once the deletion commits."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.app import Harness
from tests.fixtures.upstreams.openai_fake import tiny_png


def files_of(root: Path, user_id: str) -> list[Path]:
    folder = root / user_id
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def test_files_go_with_the_account(harness: Harness) -> None:
    user = await harness.user("a@example.com")
    other = await harness.user("b@example.com")
    await harness.run(lambda s: s.media.save(user.id, tiny_png(), "image/png"))
    await harness.run(lambda s: s.media.save(other.id, tiny_png(), "image/png"))
    root = harness.settings.resolved_media_dir
    assert len(files_of(root, user.id)) == 1

    await harness.run(lambda s: s.delete_account(user.id))

    assert files_of(root, user.id) == []
    assert len(files_of(root, other.id)) == 1
