"""One safe way to turn an untrusted relative path into a file under a root.

Path traversal keeps coming back in products like this one:
encoded separators, double encoding, absolute paths, NUL bytes, unicode lookalikes and
symlinks that lead out of the root. `safe_join` closes each of them the same way: decode
exactly once, accept only a narrow ASCII filename grammar, resolve the real path after
following symlinks, check containment against the real root, and fail with one error
whatever the reason, so that a caller cannot learn which check refused the path.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote

MAX_PATH_LENGTH = 1024
MAX_DEPTH = 8
# One path segment: ASCII letters, digits, '_', '.', '-'; never starting with '.' or '-'
# (no hidden files, no '..', nothing that reads as a command-line option).
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}")


class UnsafePath(Exception):
    """The path is refused. Deliberately says nothing about why (callers answer 404)."""

    def __init__(self) -> None:
        super().__init__("not found")


def safe_join(root: Path | str, user_path: str) -> Path:
    """The real path of `user_path` inside `root`, or `UnsafePath` for any doubt.

    `user_path` is URL-decoded exactly once: a double-encoded separator stays encoded and
    then fails the grammar. The result need not exist yet (storage writes new files), but
    every symlink on the way to it is followed before the containment check.
    """
    if not isinstance(user_path, str):
        raise UnsafePath
    try:
        decoded = unquote(user_path, errors="strict")
    except UnicodeDecodeError:
        raise UnsafePath from None
    segments = _segments(decoded)
    try:
        real_root = Path(root).resolve(strict=True)
        candidate = real_root.joinpath(*segments).resolve(strict=False)
    except (OSError, RuntimeError, ValueError):
        # RuntimeError: a symlink loop; ValueError: an embedded NUL that slipped through.
        raise UnsafePath from None
    if candidate == real_root or not candidate.is_relative_to(real_root):
        raise UnsafePath
    return candidate


def _segments(path: str) -> list[str]:
    if not path or len(path) > MAX_PATH_LENGTH or not path.isascii():
        raise UnsafePath
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        raise UnsafePath
    for segment in segments:
        if _SEGMENT.fullmatch(segment) is None or ".." in segment:
            raise UnsafePath
    return segments


def read_no_follow(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of `path`, refusing a symlink in its last component and oversized files.

    `safe_join` has already resolved every symlink; opening with `O_NOFOLLOW` closes the
    window in which the file could be swapped for a symlink after that check.
    """
    # O_NONBLOCK: opening a FIFO planted under the root must not hang the reader.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise UnsafePath from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        raise UnsafePath from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnsafePath
    return data
