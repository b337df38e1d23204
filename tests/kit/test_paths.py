"""safe_join: the traversal corpus, one error for every case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from switchboard.kit.paths import MAX_PATH_LENGTH, UnsafePath, read_no_follow, safe_join

TRAVERSALS = [
    # plain and encoded parent references
    "../secret",
    "a/../../secret",
    "..",
    ".",
    "..%2fsecret",
    "..%2Fsecret",
    "%2e%2e/secret",
    "%2e%2e%2fsecret",
    # double encoding: decoded once it still holds '%', which the grammar refuses
    "%252e%252e%252fsecret",
    "..%252fsecret",
    # backslashes, raw and encoded
    "..\\secret",
    "a\\..\\..\\secret",
    "..%5csecret",
    # absolute paths, raw and encoded, and drive letters
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "C:\\Windows\\win.ini",
    "C:/Windows/win.ini",
    "file:///etc/passwd",
    # NUL and other control characters
    "image.png\x00.txt",
    "image.png%00.txt",
    "a\nb",
    "a\tb",
    # unicode lookalikes of '.', '/' and '\\' (fullwidth, one-dot leader, slashes)
    "\uff0e\uff0e/secret",
    "\u2024\u2024/secret",
    "..\u2215secret",
    "..\u2044secret",
    "..\uff0fsecret",
    "..\uff3csecret",
    "%c0%ae%c0%ae/secret",  # overlong UTF-8 '.', refused as invalid UTF-8
    "%e2%80%a4%e2%80%a4/secret",
    "caf\u00e9.png",
    # hidden files, leading dashes, empty and odd segments
    ".env",
    "a/.hidden",
    "-rf",
    "a//b",
    "a/",
    "",
    "a/./b",
    "a/b/..",
    "name..png",
    # too long, too deep
    "a" * 256,
    "/".join(["a"] * 9),
    ("a" * 200 + "/") * 6 + "b",
    # the query or fragment of a URL is not a path
    "image.png?x=1",
    "image.png#frag",
    "a b.png",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "owner").mkdir(parents=True)
    (root / "owner" / "image.png").write_bytes(b"png")
    (tmp_path / "secret").write_text("outside")
    return root


@pytest.mark.parametrize("user_path", TRAVERSALS)
def test_refuses_the_corpus_with_one_error(root: Path, user_path: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        safe_join(root, user_path)
    # The same message whatever the reason, so callers cannot tell the checks apart.
    assert str(caught.value) == "not found"


def test_accepts_a_plain_relative_path(root: Path) -> None:
    path = safe_join(root, "owner/image.png")
    assert path == (root / "owner" / "image.png").resolve()
    assert path.read_bytes() == b"png"


def test_accepts_a_path_that_does_not_exist_yet(root: Path) -> None:
    assert (
        safe_join(root, "owner/new-file_1.webp") == (root / "owner" / "new-file_1.webp").resolve()
    )


def test_decodes_exactly_once(root: Path) -> None:
    # %41 is 'A': decoding once is allowed, a second decoding never happens.
    assert safe_join(root, "owner/%41.png").name == "A.png"
    with pytest.raises(UnsafePath):
        safe_join(root, "owner/%2541.png")


def test_refuses_the_root_itself(root: Path) -> None:
    with pytest.raises(UnsafePath):
        safe_join(root, "%2e")


def test_refuses_a_symlink_that_escapes(root: Path, tmp_path: Path) -> None:
    (root / "owner" / "link.png").symlink_to(tmp_path / "secret")
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        safe_join(root, "owner/link.png")
    with pytest.raises(UnsafePath):
        safe_join(root, "escape/secret")


def test_follows_a_symlink_that_stays_inside(root: Path) -> None:
    (root / "alias").symlink_to(root / "owner")
    assert safe_join(root, "alias/image.png") == (root / "owner" / "image.png").resolve()


def test_refuses_a_symlink_loop(root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(UnsafePath):
        safe_join(root, "loop/x.png")


def test_resolves_a_symlinked_root(root: Path, tmp_path: Path) -> None:
    (tmp_path / "root-link").symlink_to(root)
    assert safe_join(tmp_path / "root-link", "owner/image.png").read_bytes() == b"png"


def test_missing_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePath):
        safe_join(tmp_path / "missing", "a.png")


def test_non_string_is_refused(root: Path) -> None:
    with pytest.raises(UnsafePath):
        safe_join(root, b"a.png")  # type: ignore[arg-type]


def test_length_limit(root: Path) -> None:
    segment = "a" * 200
    path = "/".join([segment] * 5)
    assert len(path) <= MAX_PATH_LENGTH
    assert safe_join(root, path).name == segment


class TestReadNoFollow:
    def test_reads_a_file(self, root: Path) -> None:
        assert read_no_follow(root / "owner" / "image.png", max_bytes=10) == b"png"

    def test_refuses_a_symlink(self, root: Path) -> None:
        link = root / "owner" / "link.png"
        link.symlink_to(root / "owner" / "image.png")
        with pytest.raises(UnsafePath):
            read_no_follow(link, max_bytes=10)

    def test_refuses_a_missing_file(self, root: Path) -> None:
        with pytest.raises(UnsafePath):
            read_no_follow(root / "nope.png", max_bytes=10)

    def test_refuses_an_oversized_file(self, root: Path) -> None:
        with pytest.raises(UnsafePath):
            read_no_follow(root / "owner" / "image.png", max_bytes=2)

    def test_refuses_a_directory(self, root: Path) -> None:
        with pytest.raises(UnsafePath):
            read_no_follow(root / "owner", max_bytes=10)

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_refuses_a_fifo_without_hanging(self, root: Path) -> None:
        os.mkfifo(root / "owner" / "pipe.png")
        with pytest.raises(UnsafePath):
            read_no_follow(root / "owner" / "pipe.png", max_bytes=10)
