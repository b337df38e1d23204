"""What the images domain needs from outside."""

from __future__ import annotations

from typing import Protocol


class ImageFetcher(Protocol):
    """Fetches an image URL a provider returned, under the outbound policy."""

    async def fetch(self, url: str, *, trusted: bool = False) -> bytes:
        """The bytes at `url`; `trusted` allows private addresses (operator endpoints)."""
        ...
