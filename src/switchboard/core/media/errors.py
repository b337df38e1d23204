"""Errors of the media domain."""

from switchboard.core.errors import Invalid, NotFound


class MediaNotFound(NotFound):
    """No such file for this user (or its bytes are gone)."""

    default_code = "media_not_found"

    def __init__(self) -> None:
        super().__init__("Media not found")


class UnsupportedMediaType(Invalid):
    """Bytes that are not one of the raster image types switchboard stores and serves."""

    default_code = "unsupported_media_type"


class MediaTooLarge(Invalid):
    """A file over the size cap (or an empty one)."""

    default_code = "media_too_large"
