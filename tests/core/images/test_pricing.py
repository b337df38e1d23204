"""The image pricing table, against PocketLLM's document and original backend (NOTES 5.2)."""

from __future__ import annotations

import pytest

from switchboard.core.images.pricing import IMAGE_MODELS, image_model, price_key, pricing_keys

# The seed's GET /jobs/image-generation/models example, key for key.
SEED_DALLE3 = {
    "1024x1024_standard": 0.04,
    "1024x1024_hd": 0.08,
    "1792x1024_standard": 0.08,
    "1792x1024_hd": 0.12,
}
SEED_DALLE2 = {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02}
# The original backend's table ("<quality>-<size>").
ORIGINAL = {
    "dall-e-3": {
        "standard-1024x1024": 0.04,
        "standard-1792x1024": 0.08,
        "standard-1024x1792": 0.08,
        "hd-1024x1024": 0.08,
        "hd-1792x1024": 0.12,
        "hd-1024x1792": 0.12,
    },
    "dall-e-2": {"standard-256x256": 0.016, "standard-512x512": 0.018, "standard-1024x1024": 0.02},
    "midjourney": {
        "standard-1024x1024": 0.025,
        "standard-1792x1024": 0.035,
        "standard-1024x1792": 0.035,
        "high-1024x1024": 0.05,
        "high-1792x1024": 0.07,
        "high-1024x1792": 0.07,
    },
}
# OpenAI's list prices per image for gpt-image-1.
GPT_IMAGE_1 = {
    "low-1024x1024": 0.011,
    "low-1536x1024": 0.016,
    "low-1024x1536": 0.016,
    "medium-1024x1024": 0.042,
    "medium-1536x1024": 0.063,
    "medium-1024x1536": 0.063,
    "high-1024x1024": 0.167,
    "high-1536x1024": 0.25,
    "high-1024x1536": 0.25,
}


def test_models_of_the_original_and_gpt_image_1() -> None:
    assert set(IMAGE_MODELS) == {"dall-e-3", "dall-e-2", "midjourney", "gpt-image-1"}


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_original_prices_and_key_format(name: str) -> None:
    assert dict(IMAGE_MODELS[name].prices) == ORIGINAL[name]


def test_gpt_image_1_list_prices() -> None:
    model = IMAGE_MODELS["gpt-image-1"]
    assert dict(model.prices) == GPT_IMAGE_1
    assert model.qualities == ("low", "medium", "high")
    assert model.default_quality == "medium"


def test_sizes_and_qualities_as_documented() -> None:
    dalle3, dalle2 = IMAGE_MODELS["dall-e-3"], IMAGE_MODELS["dall-e-2"]
    assert dalle3.sizes == ("1024x1024", "1792x1024", "1024x1792")
    assert dalle3.qualities == ("standard", "hd")
    assert dalle3.provider == "openai"
    assert dalle2.sizes == ("256x256", "512x512", "1024x1024")
    assert dalle2.qualities == ("standard",)
    assert IMAGE_MODELS["midjourney"].qualities == ("standard", "high")


def test_dall_e_3_makes_one_image_per_call() -> None:
    assert IMAGE_MODELS["dall-e-3"].max_per_request == 1
    assert IMAGE_MODELS["dall-e-3"].styles == ("vivid", "natural")


def test_seed_keys_are_all_present_with_the_seed_prices() -> None:
    dalle3 = pricing_keys(IMAGE_MODELS["dall-e-3"])
    assert SEED_DALLE3.items() <= dalle3.items()
    assert dalle3["1024x1792_hd"] == 0.12  # the row the API document left out
    dalle2 = pricing_keys(IMAGE_MODELS["dall-e-2"])
    assert SEED_DALLE2.items() <= dalle2.items()


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_both_spellings_everywhere(name: str) -> None:
    model = IMAGE_MODELS[name]
    keys = pricing_keys(model)
    for key, price in model.prices.items():
        assert keys[key] == price


def test_every_offered_combination_has_a_price() -> None:
    for model in IMAGE_MODELS.values():
        for size in model.sizes:
            for quality in model.qualities:
                assert model.unit_price(size, quality) is not None, (model.name, size, quality)
        assert model.default_size in model.sizes
        assert model.default_quality in model.qualities


def test_lookup() -> None:
    assert image_model("dall-e-3") is IMAGE_MODELS["dall-e-3"]
    assert image_model("DALL-E-3") is None
    assert image_model("nope") is None
    assert price_key("hd", "1024x1024") == "hd-1024x1024"
