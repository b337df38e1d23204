"""What the composition root decides for the PocketLLM face."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PocketLLMOptions:
    """The face's options (routes read them with `face_options(PocketLLMOptions)`)."""

    # Swagger UI is served at `/docs`; the document's legacy `/api/docs` leads there.
    docs_enabled: bool = True
