"""Ollama's model API behind the `ModelAdministration` port.

Installed models come from /api/tags, what is in memory from /api/ps, details from
/api/show. Ollama has no load or unload call of its own: a /api/generate without a
prompt loads a model (for the server's keep-alive), and one with `keep_alive: 0`
unloads it. Model names travel in JSON bodies, so tags (`llama3.2:1b`) and namespaces
(`hf.co/org/model:Q4_K_M`) need no escaping.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import ollama

from switchboard.adapters.providers import common
from switchboard.core.providers.ports import LocalModel, ModelDetails, ModelStatus

from . import errors
from .http import PooledOllamaClient


def canonical(name: str) -> str:
    """`name` with Ollama's implied `:latest` tag (a `:` before the last `/` is a port)."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _context_length(model_info: Any) -> int | None:
    # The key is architecture-specific: `llama.context_length`, `gemma3.context_length`.
    for key, value in (model_info or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def _status(name: str, running: ollama.ProcessResponse.Model | None) -> ModelStatus:
    if running is None:
        return ModelStatus(name=name, loaded=False)
    return ModelStatus(
        name=name,
        loaded=True,
        size_vram=running.size_vram,
        expires_at=_iso(running.expires_at),
    )


class OllamaModelAdmin:
    """`ModelAdministration` for `OllamaProvider`, over its pooled SDK client."""

    _client: PooledOllamaClient
    deadline_seconds: float
    vendor: str

    @common.bounded
    async def local_models(self) -> list[LocalModel]:
        """Installed models (/api/tags), each with whether it is loaded (/api/ps)."""
        try:
            listing, running = await asyncio.gather(self._client.list(), self._client.ps())
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate(exc) from None
        loaded = {canonical(m.model or "") for m in running.models}
        return [
            LocalModel(
                name=m.model or "",
                size=m.size,
                loaded=canonical(m.model or "") in loaded,
                modified_at=_iso(m.modified_at),
                family=m.details.family if m.details else None,
                parameter_size=m.details.parameter_size if m.details else None,
                quantization_level=m.details.quantization_level if m.details else None,
            )
            for m in listing.models
        ]

    @common.bounded
    async def model_details(self, name: str) -> ModelDetails:
        """One installed model's details (/api/show); `NotFound` when it is not installed."""
        try:
            shown = await self._client.show(name)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate_for_model(exc, name) from None
        details = shown.details
        return ModelDetails(
            name=name,
            template=shown.template,
            parameters=shown.parameters,
            license=shown.license,
            family=details.family if details else None,
            parameter_size=details.parameter_size if details else None,
            quantization_level=details.quantization_level if details else None,
            capabilities=tuple(shown.capabilities or ()),
            context_length=_context_length(shown.modelinfo),
            modified_at=_iso(shown.modified_at),
        )

    @common.bounded
    async def load_model(self, name: str) -> ModelStatus:
        """Load `name` for the server's keep-alive (a /api/generate without a prompt)."""
        try:
            await self._client.generate(model=name)
            running = await self._running(name)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate_for_model(exc, name) from None
        return _status(name, running)

    @common.bounded
    async def unload_model(self, name: str) -> ModelStatus:
        """Unload `name` now (/api/generate with `keep_alive: 0`)."""
        try:
            await self._client.generate(model=name, keep_alive=0)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate_for_model(exc, name) from None
        return ModelStatus(name=name, loaded=False)

    @common.bounded
    async def model_status(self, name: str) -> ModelStatus:
        """Whether `name` is loaded (/api/ps); `NotFound` when it is not installed."""
        try:
            running = await self._running(name)
            if running is None:
                # Not in memory: /api/show tells an unloaded model from a missing one.
                await self._client.show(name)
        except errors.VENDOR_ERRORS as exc:
            raise errors.translate_for_model(exc, name) from None
        return _status(name, running)

    async def _running(self, name: str) -> ollama.ProcessResponse.Model | None:
        wanted = canonical(name)
        running = await self._client.ps()
        return next((m for m in running.models if canonical(m.model or "") == wanted), None)
