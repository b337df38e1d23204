"""Events as JSON: the wire format on Redis, and the copy the memory bus hands out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from switchboard.core.events.schemas import Event


def encode_event(event: Event) -> bytes:
    """`event` as compact JSON; `TypeError` when its data is not JSON-serialisable."""
    return orjson.dumps(
        {
            "id": event.id,
            "topic": event.topic,
            "type": event.type,
            "data": event.data,
            "at": event.at.isoformat(),
        }
    )


def decode_event(raw: bytes | str, *, topic: str | None = None) -> Event:
    """The event in `raw`; `topic` (the channel it came on) wins over the payload's.

    Raises `ValueError` for anything that is not an encoded event.
    """
    try:
        body: Any = orjson.loads(raw)
        data = body["data"]
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
        return Event(
            topic=topic or str(body["topic"]),
            type=str(body["type"]),
            data=data,
            id=str(body["id"]),
            at=datetime.fromisoformat(body["at"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError("not an encoded event") from exc


def copy_event(event: Event) -> Event:
    """What a JSON round trip gives, so every bus delivers the same shapes."""
    return decode_event(encode_event(event))
