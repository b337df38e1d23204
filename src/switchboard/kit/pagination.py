"""Paging: offset pages and opaque cursors."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# The furthest a page may start: past every table this service keeps, and inside the
# 32-bit integers every database and driver accepts in OFFSET (a 20-digit offset
# overflowed SQLite's driver and broke asyncpg's connection).
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of items with what a client needs to fetch the next one."""

    items: list[T]
    total: int | None = None
    next_cursor: str | None = None


def clamp_offset(offset: int) -> int:
    """`offset` within 0..MAX_OFFSET, for services that take it from any caller."""
    return min(max(offset, 0), MAX_OFFSET)


def encode_cursor(position: int) -> str:
    """An opaque cursor for a position in an ordered sequence."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position inside a cursor, or None when the cursor is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return value if 0 <= value <= MAX_OFFSET else None
