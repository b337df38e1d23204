"""LocalMediaStorage: atomic 0600 writes, no-follow reads, every key through safe_join."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from switchboard.adapters.storage import LocalMediaStorage
from switchboard.core.errors import NotFound

KEY = "0b0c5c8e-0000-4000-8000-000000000001/5b7e0f4a-0000-4000-8000-000000000002.png"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def storage(root: Path) -> LocalMediaStorage:
    return LocalMediaStorage(root)


async def test_put_get_round_trip(storage: LocalMediaStorage) -> None:
    await storage.put(KEY, b"\x89PNG data")
    assert await storage.get(KEY) == b"\x89PNG data"
    assert await storage.exists(KEY)


async def test_root_and_directories_are_private_and_files_0600(
    storage: LocalMediaStorage, root: Path
) -> None:
    await storage.put(KEY, b"data")
    path = root / KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(root.stat().st_mode) & 0o077 == 0


async def test_put_replaces_atomically_and_leaves_no_temporary_files(
    storage: LocalMediaStorage, root: Path
) -> None:
    await storage.put(KEY, b"first")
    await storage.put(KEY, b"second")
    assert await storage.get(KEY) == b"second"
    assert sorted(p.name for p in (root / KEY).parent.iterdir()) == [Path(KEY).name]


async def test_missing_key_is_not_found(storage: LocalMediaStorage) -> None:
    with pytest.raises(NotFound):
        await storage.get(KEY)
    assert not await storage.exists(KEY)


async def test_delete_is_idempotent(storage: LocalMediaStorage) -> None:
    await storage.put(KEY, b"data")
    await storage.delete(KEY)
    await storage.delete(KEY)
    assert not await storage.exists(KEY)


@pytest.mark.parametrize("key", ["../outside.png", "/etc/passwd", "a/../../x", "..%2fx", "a\x00b"])
async def test_traversal_keys_are_refused_everywhere(
    storage: LocalMediaStorage, tmp_path: Path, key: str
) -> None:
    (tmp_path / "outside.png").write_bytes(b"outside")
    with pytest.raises(NotFound):
        await storage.put(key, b"evil")
    with pytest.raises(NotFound):
        await storage.get(key)
    assert not await storage.exists(key)
    await storage.delete(key)  # refused quietly, and nothing outside is touched
    assert (tmp_path / "outside.png").read_bytes() == b"outside"


async def test_symlinked_file_escaping_the_root_is_not_read(
    storage: LocalMediaStorage, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_bytes(b"secret")
    await storage.put(KEY, b"data")
    path = root / KEY
    path.unlink()
    path.symlink_to(tmp_path / "secret")
    with pytest.raises(NotFound):
        await storage.get(KEY)
    assert not await storage.exists(KEY)


async def test_put_never_writes_through_a_symlink(
    storage: LocalMediaStorage, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_bytes(b"secret")
    await storage.put(KEY, b"data")
    owner_dir = (root / KEY).parent
    # Replace the owner's directory by a link out of the root: writes must be refused.
    for child in owner_dir.iterdir():
        child.unlink()
    owner_dir.rmdir()
    owner_dir.symlink_to(tmp_path)
    with pytest.raises(NotFound):
        await storage.put(KEY, b"evil")
    assert not (tmp_path / Path(KEY).name).exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
async def test_a_planted_fifo_is_not_found(storage: LocalMediaStorage, root: Path) -> None:
    await storage.put(KEY, b"data")
    (root / KEY).unlink()
    os.mkfifo(root / KEY)
    with pytest.raises(NotFound):
        await storage.get(KEY)
    assert not await storage.exists(KEY)
