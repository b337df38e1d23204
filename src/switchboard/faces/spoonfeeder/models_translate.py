"""Ollama's model administration (core types) in the Spoon Feeder document's shapes.

No I/O: sizes as the document writes them (`"4.7 GB"`), Ollama's capabilities as the
document's words, and a model's last use as far as Ollama lets us know it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from switchboard.core.providers.ports import LocalModel, ModelDetails, ModelStatus

# Ollama unloads an idle model after its keep-alive, 5 minutes unless the request or
# the server (OLLAMA_KEEP_ALIVE) chose another: the one duration we can assume.
DEFAULT_KEEP_ALIVE = timedelta(minutes=5)
# Ollama's capability words in the document's vocabulary (`completion` is chat and text).
CAPABILITY_WORDS: dict[str, tuple[str, ...]] = {
    "completion": ("chat", "text"),
    "embedding": ("embedding",),
}
UNITS = (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3))


def human_size(size: int | None) -> str:
    """Bytes in decimal units as Ollama shows them (`4.7 GB`); `""` when unknown."""
    if size is None:
        return ""
    for unit, factor in UNITS:
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def capabilities(reported: tuple[str, ...], family: str | None) -> list[str]:
    """The document's capability words; a listing carries none, so its model family
    decides there (BERT families embed, everything else chats)."""
    if not reported:
        reported = ("embedding",) if family and "bert" in family else ("completion",)
    words: list[str] = []
    for capability in reported:
        for word in CAPABILITY_WORDS.get(capability, (capability,)):
            if word not in words:
                words.append(word)
    return words


def canonical(name: str) -> str:
    """`name` with Ollama's implied `:latest` tag (a `:` before the last `/` is a port)."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def listed_model(model: LocalModel, source: str, profile_id: str | None) -> dict[str, Any]:
    """One entry of `GET /api/models`; `description` names where it is installed, as
    `"<profile> (ollama)"`, and `parameters` repeats the name as the document shows."""
    return {
        "name": model.name,
        "size": human_size(model.size),
        "loaded": model.loaded,
        "capabilities": capabilities(model.capabilities, model.family),
        "description": f"{source} (ollama)",
        "parameters": model.name,
        "provider": "ollama",
        "profileId": profile_id,
        "family": model.family,
        "parameterSize": model.parameter_size,
        "quantization": model.quantization_level,
        "modifiedAt": model.modified_at,
    }


def model_info(details: ModelDetails, listed: LocalModel | None) -> dict[str, Any]:
    """`GET /api/models/:name`: the model's details, its template and, from the listing,
    its size and whether it is loaded."""
    family = details.family or (listed.family if listed else None)
    return {
        "name": details.name,
        "size": human_size(listed.size if listed else None),
        "loaded": bool(listed and listed.loaded),
        "capabilities": capabilities(details.capabilities, family),
        "description": describe(details),
        "parameters": parameters(details.parameters),
        "template": details.template or "",
        "family": family,
        "parameterSize": details.parameter_size,
        "quantization": details.quantization_level,
        "contextLength": details.context_length,
        "modifiedAt": details.modified_at,
    }


def describe(details: ModelDetails) -> str:
    """`llama 8B, Q4_K_M`: what Ollama says the model is (it keeps no prose description)."""
    words = " ".join(w for w in (details.family, details.parameter_size) if w)
    return ", ".join(w for w in (words, details.quantization_level) if w)


def parameters(modelfile_parameters: str | None) -> str:
    """Ollama's `key value` lines as the document writes them: `key=value, key=value`."""
    pairs = []
    for line in (modelfile_parameters or "").splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            pairs.append(f"{key}={value.strip()}")
    return ", ".join(pairs)


def model_status(status: ModelStatus, now: datetime) -> dict[str, Any]:
    """`GET /api/models/:name/status` with `lastUsed` (see `last_used`) and Ollama's own
    `expiresAt`."""
    return {
        "name": status.name,
        "loaded": status.loaded,
        "lastUsed": last_used(status, now),
        "expiresAt": status.expires_at,
    }


def last_used(status: ModelStatus, now: datetime) -> str | None:
    """When the model was last used, as far as it can be known.

    Ollama records no last-use time; it reports when a loaded model will be unloaded,
    which is its last use plus the keep-alive. With the default keep-alive that gives
    the last use; an expiry further away than that means another keep-alive (or
    "forever") whose length we do not know, and an unloaded model tells nothing: null.
    """
    if not status.loaded or status.expires_at is None:
        return None
    try:
        expires = datetime.fromisoformat(status.expires_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if expires.tzinfo is None or expires - now > DEFAULT_KEEP_ALIVE:
        return None
    used = min(expires - DEFAULT_KEEP_ALIVE, now)
    return used.isoformat(timespec="milliseconds").replace("+00:00", "Z")
