"""Prices of known models and the cost of a call."""

from __future__ import annotations

import pytest

from switchboard.core.catalog.pricing import PRICES, Price, cost_usd, price_of
from switchboard.core.llm import Usage


class TestPriceOf:
    def test_known_model(self) -> None:
        assert price_of("openai", "gpt-4o") == Price(0.0025, 0.01)

    def test_unknown_model(self) -> None:
        assert price_of("ollama", "llama3") is None

    def test_provider_matters(self) -> None:
        assert price_of("groq", "gpt-4o") is None

    def test_every_price_is_non_negative(self) -> None:
        assert all(p.input_per_1k >= 0 and p.output_per_1k >= 0 for p in PRICES.values())


class TestCostUsd:
    def test_input_and_output_priced_separately(self) -> None:
        cost = cost_usd("openai", "gpt-4o", Usage(prompt_tokens=1000, completion_tokens=500))

        assert cost == pytest.approx(0.0025 + 0.005)

    def test_small_usage_is_not_rounded_to_zero(self) -> None:
        cost = cost_usd("openai", "gpt-4o-mini", Usage(prompt_tokens=3, completion_tokens=3))

        assert cost == pytest.approx((3 * 0.00015 + 3 * 0.0006) / 1000)
        assert cost > 0

    def test_rounded_to_eight_places(self) -> None:
        cost = cost_usd("gemini", "gemini-1.5-flash", Usage(prompt_tokens=1, completion_tokens=1))

        assert cost == round(cost, 8)

    def test_unknown_model_costs_nothing(self) -> None:
        assert cost_usd("ollama", "llama3", Usage(10_000, 10_000)) == 0.0

    def test_missing_usage_costs_nothing(self) -> None:
        assert cost_usd("openai", "gpt-4o", None) == 0.0

    def test_zero_tokens_cost_nothing(self) -> None:
        assert cost_usd("openai", "gpt-4o", Usage(0, 0)) == 0.0
