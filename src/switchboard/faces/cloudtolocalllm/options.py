"""What the composition root decides for the CloudToLocalLLM face."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CloudToLocalLLMOptions:
    """The face's options (routes read them with `face_options(CloudToLocalLLMOptions)`)."""

    # The server's data directory: detailed health reports how full its disk is.
    data_dir: Path
