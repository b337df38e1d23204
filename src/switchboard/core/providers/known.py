"""The providers switchboard knows by name, and how each is reached by default.

Each names its kind from `kinds.PROVIDER_KINDS`, the one list of adapter families and
their capabilities; a name with a kind missing there fails at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.providers.kinds import PROVIDER_KINDS, ProviderKind


@dataclass(frozen=True, slots=True)
class KnownProvider:
    """A provider name, the adapter family that speaks to it, and its public base URL."""

    name: str
    kind: str
    default_base_url: str | None
    display_name: str
    needs_key: bool = True

    def __post_init__(self) -> None:
        if self.kind not in PROVIDER_KINDS:
            raise ValueError(f"provider {self.name!r} names unknown kind {self.kind!r}")

    @property
    def provider_kind(self) -> ProviderKind:
        """The adapter family of this provider, with its capabilities."""
        return PROVIDER_KINDS[self.kind]


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    p.name: p
    for p in (
        KnownProvider("openai", "openai", "https://api.openai.com/v1", "OpenAI"),
        KnownProvider("anthropic", "anthropic", "https://api.anthropic.com", "Anthropic"),
        KnownProvider(
            "gemini", "gemini", "https://generativelanguage.googleapis.com", "Google Gemini"
        ),
        KnownProvider("ollama", "ollama", "http://127.0.0.1:11434", "Ollama", needs_key=False),
        KnownProvider("groq", "openai", "https://api.groq.com/openai/v1", "Groq"),
        KnownProvider("openrouter", "openai", "https://openrouter.ai/api/v1", "OpenRouter"),
        KnownProvider(
            "imagerouter", "openai", "https://api.imagerouter.io/v1/openai", "ImageRouter"
        ),
        KnownProvider("mistral", "openai", "https://api.mistral.ai/v1", "Mistral"),
        KnownProvider("deepseek", "openai", "https://api.deepseek.com/v1", "DeepSeek"),
        # Any OpenAI-compatible server (vLLM, LM Studio, llama.cpp): the base URL is required.
        KnownProvider("openai_compatible", "openai", None, "OpenAI-compatible", needs_key=False),
        KnownProvider("echo", "echo", None, "Echo (built in)", needs_key=False),
        # A ComfyUI server (Spoon Feeder's image profiles): workflows and images, no chat.
        KnownProvider("comfyui", "comfyui", "http://127.0.0.1:8188", "ComfyUI", needs_key=False),
    )
}


def known_provider(name: str) -> KnownProvider | None:
    """The provider called `name` (case-insensitive), or None."""
    return KNOWN_PROVIDERS.get(name.strip().lower())
