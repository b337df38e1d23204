"""What the media domain hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class MediaRead(BaseModel):
    """A stored file's metadata (never its storage key)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    mime_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
    job_id: str | None = None
    filename: str | None = None
    attributes: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class MediaDownload:
    """A file ready to send: the body and every header a face must send with it.

    The headers force the stored raster type, forbid sniffing and sandbox the response,
    so that no face can serve a stored file as something else.
    """

    media: MediaRead
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        """The forced Content-Type."""
        return self.media.mime_type
