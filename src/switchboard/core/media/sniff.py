"""Which raster image type some bytes are, from their magic numbers alone.

The declared type of a file is a claim; the bytes are the fact. Only these four types
are ever stored or served: SVG, HTML and everything else can carry script that a
browser would run on our origin.
"""

from __future__ import annotations

EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}


def sniff_image(data: bytes) -> str | None:
    """`image/png`, `image/jpeg`, `image/webp` or `image/gif`; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
