"""Prices of known models, in US dollars per 1,000 tokens (input, output).

Figures are the vendors' public list prices; unknown models cost 0 (self-hosted models
really are free at the margin, and guessing a price would be worse than saying nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.llm import Usage


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per 1K input tokens and per 1K output tokens."""

    input_per_1k: float
    output_per_1k: float


PRICES: dict[str, Price] = {
    "openai/gpt-4o": Price(0.0025, 0.01),
    "openai/gpt-4o-mini": Price(0.00015, 0.0006),
    "openai/gpt-4.1": Price(0.002, 0.008),
    "openai/gpt-4.1-mini": Price(0.0004, 0.0016),
    "openai/gpt-4.1-nano": Price(0.0001, 0.0004),
    "openai/o3-mini": Price(0.0011, 0.0044),
    "openai/o4-mini": Price(0.0011, 0.0044),
    "openai/gpt-3.5-turbo": Price(0.0005, 0.0015),
    "openai/text-embedding-3-small": Price(0.00002, 0.0),
    "openai/text-embedding-3-large": Price(0.00013, 0.0),
    "anthropic/claude-3-5-haiku-latest": Price(0.0008, 0.004),
    "anthropic/claude-3-5-sonnet-latest": Price(0.003, 0.015),
    "anthropic/claude-3-7-sonnet-latest": Price(0.003, 0.015),
    "anthropic/claude-sonnet-4-0": Price(0.003, 0.015),
    "anthropic/claude-opus-4-0": Price(0.015, 0.075),
    "gemini/gemini-1.5-flash": Price(0.000075, 0.0003),
    "gemini/gemini-1.5-pro": Price(0.00125, 0.005),
    "gemini/gemini-2.0-flash": Price(0.0001, 0.0004),
    "gemini/gemini-2.5-flash": Price(0.0003, 0.0025),
    "gemini/gemini-2.5-pro": Price(0.00125, 0.01),
    "groq/llama-3.1-8b-instant": Price(0.00005, 0.00008),
    "groq/llama-3.3-70b-versatile": Price(0.00059, 0.00079),
    "mistral/mistral-large-latest": Price(0.002, 0.006),
    "mistral/mistral-small-latest": Price(0.0002, 0.0006),
    "deepseek/deepseek-chat": Price(0.00027, 0.0011),
    "deepseek/deepseek-reasoner": Price(0.00055, 0.00219),
}


def price_of(provider: str, model: str) -> Price | None:
    """The list price of `provider/model`, or None when unknown."""
    return PRICES.get(f"{provider}/{model}")


def cost_usd(provider: str, model: str, usage: Usage | None) -> float:
    """What `usage` of `provider/model` costs, 0 for unknown models or missing usage."""
    price = price_of(provider, model)
    if price is None or usage is None:
        return 0.0
    cost = (
        usage.prompt_tokens * price.input_per_1k + usage.completion_tokens * price.output_per_1k
    ) / 1000
    return round(cost, 8)
