"""ModelResolver: `provider/model`, operator aliases and well-known bare names."""

from __future__ import annotations

import pytest

from switchboard.core.catalog.models import ModelResolver
from switchboard.core.errors import ErrorKind, Invalid
from switchboard.core.llm import ModelRef


class TestResolve:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("echo/echo", ModelRef("echo", "echo")),
            ("openai/gpt-4o", ModelRef("openai", "gpt-4o")),
            ("OpenAI/gpt-4o", ModelRef("openai", "gpt-4o")),
            ("anthropic/claude-3-5-haiku-latest", ModelRef("anthropic", "claude-3-5-haiku-latest")),
            ("ollama/llama3.2:3b", ModelRef("ollama", "llama3.2:3b")),
            (
                "openrouter/meta-llama/llama-3.1-8b",
                ModelRef("openrouter", "meta-llama/llama-3.1-8b"),
            ),
            ("openai_compatible/my-model", ModelRef("openai_compatible", "my-model")),
            ("  groq/llama-3.1-8b-instant  ", ModelRef("groq", "llama-3.1-8b-instant")),
        ],
    )
    def test_provider_prefixed(self, name: str, expected: ModelRef) -> None:
        assert ModelResolver().resolve(name) == expected

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("gpt-4o-mini", ModelRef("openai", "gpt-4o-mini")),
            ("chatgpt-4o-latest", ModelRef("openai", "chatgpt-4o-latest")),
            ("o1-mini", ModelRef("openai", "o1-mini")),
            ("o3-mini", ModelRef("openai", "o3-mini")),
            ("o4-mini", ModelRef("openai", "o4-mini")),
            ("dall-e-3", ModelRef("openai", "dall-e-3")),
            ("text-embedding-3-small", ModelRef("openai", "text-embedding-3-small")),
            ("claude-3-5-sonnet-latest", ModelRef("anthropic", "claude-3-5-sonnet-latest")),
            ("gemini-2.0-flash", ModelRef("gemini", "gemini-2.0-flash")),
            ("text-embedding-004", ModelRef("gemini", "text-embedding-004")),
            ("echo", ModelRef("echo", "echo")),
        ],
    )
    def test_bare_vendor_names(self, name: str, expected: ModelRef) -> None:
        assert ModelResolver().resolve(name) == expected

    def test_alias(self) -> None:
        resolver = ModelResolver({"fast": "groq/llama-3.1-8b-instant"})

        assert resolver.resolve("fast") == ModelRef("groq", "llama-3.1-8b-instant")

    def test_alias_to_a_bare_name(self) -> None:
        resolver = ModelResolver({"smart": "gpt-4o"})

        assert resolver.resolve("smart") == ModelRef("openai", "gpt-4o")

    def test_alias_to_an_unknown_target_names_the_alias(self) -> None:
        resolver = ModelResolver({"broken": "nowhere/thing"})

        with pytest.raises(Invalid) as caught:
            resolver.resolve("broken")

        assert "'broken'" in caught.value.message

    @pytest.mark.parametrize(
        "name",
        ["", "   ", "mystery-model", "skynet/t-800", "openai/", "/gpt-4o", "llama3"],
    )
    def test_unknown_names_are_invalid(self, name: str) -> None:
        with pytest.raises(Invalid) as caught:
            ModelResolver().resolve(name)

        assert caught.value.kind == ErrorKind.INVALID
        assert caught.value.code == "model_not_found"
        assert caught.value.param == "model"


class TestAliases:
    def test_is_a_copy(self) -> None:
        resolver = ModelResolver({"fast": "echo/echo"})

        resolver.aliases["fast"] = "openai/gpt-4o"

        assert resolver.resolve("fast") == ModelRef("echo", "echo")

    def test_empty_by_default(self) -> None:
        assert ModelResolver().aliases == {}
