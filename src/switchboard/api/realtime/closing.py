"""Closing whatever feeds a socket: a bus subscription or an async generator."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable
from typing import Any


async def close_source(source: AsyncIterable[Any]) -> None:
    """Close `source` if it can be closed (`close()` on subscriptions, `aclose()`)."""
    close = getattr(source, "close", None) or getattr(source, "aclose", None)
    if close is None:
        return
    result = close()
    if inspect.isawaitable(result):
        await result
