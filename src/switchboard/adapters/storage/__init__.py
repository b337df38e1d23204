"""Storage adapters: where media bytes live (a local directory by default)."""

from switchboard.adapters.storage.fetch import SafeImageFetcher
from switchboard.adapters.storage.local import LocalMediaStorage

__all__ = ["LocalMediaStorage", "SafeImageFetcher"]
