"""ImageService: validation against the table (errors name the field) and estimates."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ErrorKind
from switchboard.core.images.errors import InvalidImageModel, InvalidImageOption
from switchboard.core.images.service import ImageService

images = ImageService()


class TestEstimate:
    def test_the_documented_example(self) -> None:
        # POST /jobs/image-generation/estimate-cost {dall-e-3, 1024x1024, hd, n=2}
        estimate = images.estimate_cost("dall-e-3", "1024x1024", "hd", 2)
        assert estimate.model_dump() == {
            "estimated_cost": 0.16,
            "currency": "USD",
            "breakdown": {
                "model": "dall-e-3",
                "size": "1024x1024",
                "quality": "hd",
                "quantity": 2,
                "unit_cost": 0.08,
            },
        }

    def test_defaults_are_standard_1024_and_one_image(self) -> None:
        estimate = images.estimate_cost("dall-e-3")
        assert estimate.estimated_cost == 0.04
        assert estimate.breakdown.size == "1024x1024"
        assert estimate.breakdown.quality == "standard"
        assert estimate.breakdown.quantity == 1

    @pytest.mark.parametrize(
        ("model", "size", "quality", "n", "total"),
        [
            ("dall-e-3", "1792x1024", "hd", 3, 0.36),
            ("dall-e-3", "1024x1792", "standard", 4, 0.32),
            ("dall-e-2", "256x256", None, 4, 0.064),
            ("dall-e-2", "512x512", "standard", 1, 0.018),
            ("midjourney", "1792x1024", "high", 2, 0.14),
            ("gpt-image-1", None, None, 1, 0.042),
            ("gpt-image-1", "1536x1024", "high", 2, 0.5),
        ],
    )
    def test_totals_without_float_noise(
        self, model: str, size: str | None, quality: str | None, n: int, total: float
    ) -> None:
        assert images.estimate_cost(model, size, quality, n).estimated_cost == total


class TestValidate:
    @pytest.mark.parametrize("model", [None, "", "dall-e-4", "DALL-E-3", "gpt-4o"])
    def test_unknown_model(self, model: str | None) -> None:
        with pytest.raises(InvalidImageModel) as caught:
            images.validate(model)
        assert caught.value.message == "Invalid model"
        assert caught.value.param == "model"
        assert caught.value.kind is ErrorKind.INVALID

    @pytest.mark.parametrize(
        ("model", "size", "quality", "param"),
        [
            ("dall-e-3", "512x512", "hd", "size"),
            ("dall-e-3", "1024x1024", "high", "quality"),
            ("dall-e-2", "1024x1024", "hd", "quality"),
            ("dall-e-2", "1792x1024", None, "size"),
            ("midjourney", "1024x1024", "hd", "quality"),
            ("gpt-image-1", "1792x1024", None, "size"),
            ("gpt-image-1", None, "standard", "quality"),
        ],
    )
    def test_combinations_the_model_does_not_offer(
        self, model: str, size: str, quality: str | None, param: str
    ) -> None:
        with pytest.raises(InvalidImageOption) as caught:
            images.validate(model, size, quality)
        assert caught.value.message == "Invalid size/quality combination for this model"
        assert caught.value.param == param

    @pytest.mark.parametrize("n", [0, -1, 5, 100])
    def test_count(self, n: int) -> None:
        with pytest.raises(InvalidImageOption) as caught:
            images.validate("dall-e-2", n=n)
        assert caught.value.param == "n"

    def test_style(self) -> None:
        assert images.validate("dall-e-3", style="natural").style == "natural"
        # Models without styles ignore one, as the original did.
        assert images.validate("dall-e-2", style="vivid").style is None
        with pytest.raises(InvalidImageOption) as caught:
            images.validate("dall-e-3", style="noir")
        assert caught.value.param == "style"

    def test_spec(self) -> None:
        spec = images.validate("dall-e-3", "1792x1024", "hd", 2, "vivid")
        assert (spec.model, spec.provider, spec.size, spec.quality, spec.n) == (
            "dall-e-3",
            "openai",
            "1792x1024",
            "hd",
            2,
        )
        assert spec.unit_cost == 0.12
        assert spec.total_cost == 0.24
        assert spec.max_per_request == 1


def test_models_list() -> None:
    listed = {m.name: m for m in images.models()}
    assert set(listed) == {"dall-e-3", "dall-e-2", "midjourney", "gpt-image-1"}
    dalle3 = listed["dall-e-3"]
    assert dalle3.provider == "openai"
    assert dalle3.sizes == ["1024x1024", "1792x1024", "1024x1792"]
    assert dalle3.quality == ["standard", "hd"]
    assert dalle3.pricing["1024x1024_hd"] == 0.08
    assert dalle3.pricing["hd-1024x1024"] == 0.08
    assert listed["dall-e-2"].pricing["256x256"] == 0.016
