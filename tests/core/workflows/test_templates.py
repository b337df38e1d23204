"""Text-to-image requests checked against what the engine offers, and the graph built."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.core.errors import Invalid
from switchboard.core.workflows.ports import ObjectInfo
from switchboard.core.workflows.templates import (
    MAX_SEED,
    SAVE_NODE,
    parse_size,
    text_to_image,
    text_to_image_workflow,
)
from tests.fixtures.upstreams.comfyui_fake import CHECKPOINTS, LORAS, SAMPLERS

INFO = ObjectInfo(
    samplers=("dpmpp_2m", *SAMPLERS[:2]),
    schedulers=("karras", "normal"),
    checkpoints=tuple(CHECKPOINTS),
    loras=tuple(LORAS),
)


class TestTextToImage:
    def test_defaults_come_from_the_engine(self) -> None:
        request = text_to_image(INFO, "a lighthouse")
        assert request.checkpoint == CHECKPOINTS[0]
        # ComfyUI's own defaults when offered, wherever the engine lists them.
        assert (request.sampler, request.scheduler) == ("euler", "normal")
        assert (request.width, request.height, request.size) == (1024, 1024, "1024x1024")
        assert (request.steps, request.cfg, request.batch) == (20, 7.0, 1)
        assert 0 <= request.seed <= MAX_SEED
        assert request.negative_prompt == ""

    def test_without_the_preferred_ones_the_first_offered(self) -> None:
        info = ObjectInfo(("dpmpp_2m",), ("karras",), ("flux.safetensors",), ())
        request = text_to_image(info, "x")
        assert (request.checkpoint, request.sampler, request.scheduler) == (
            "flux.safetensors",
            "dpmpp_2m",
            "karras",
        )

    def test_every_option_lands_in_the_graph(self) -> None:
        request = text_to_image(
            INFO,
            "a lighthouse",
            checkpoint=CHECKPOINTS[1],
            size="512x768",
            negative_prompt="blurry",
            steps=3,
            cfg=4.5,
            sampler="dpmpp_2m",
            scheduler="karras",
            seed=7,
            batch=2,
        )
        graph = text_to_image_workflow(request)
        sampler = graph["3"]["inputs"]
        assert {k: sampler[k] for k in ("seed", "steps", "cfg", "sampler_name", "scheduler")} == {
            "seed": 7,
            "steps": 3,
            "cfg": 4.5,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
        }
        assert graph["4"]["inputs"] == {"ckpt_name": CHECKPOINTS[1]}
        assert graph["5"]["inputs"] == {"width": 512, "height": 768, "batch_size": 2}
        assert graph["6"]["inputs"]["text"] == "a lighthouse"
        assert graph["7"]["inputs"]["text"] == "blurry"
        assert graph[SAVE_NODE]["class_type"] == "SaveImage"

    @pytest.mark.parametrize(
        ("options", "param", "message"),
        [
            ({"checkpoint": "nope.safetensors"}, "model", "unknown checkpoint 'nope.safetensors'"),
            ({"sampler": "ddim"}, "sampler", "one of: dpmpp_2m, euler, euler_ancestral"),
            ({"scheduler": "exponential"}, "scheduler", "one of: karras, normal"),
            ({"size": "big"}, "size", "WIDTHxHEIGHT"),
            ({"size": "1000x1001"}, "size", "multiples of 8"),
            ({"size": "32x32"}, "size", "between 64 and 4096"),
            ({"steps": 0}, "steps", "between 1 and 150"),
            ({"cfg": 31}, "cfg", "between 0 and 30"),
            ({"batch": 9}, "n", "between 1 and 8"),
            ({"seed": -1}, "seed", "between 0"),
        ],
    )
    def test_refusals_name_the_option_and_what_is_allowed(
        self, options: dict[str, Any], param: str, message: str
    ) -> None:
        with pytest.raises(Invalid) as caught:
            text_to_image(INFO, "x", **options)
        assert caught.value.param == param
        assert message in caught.value.message

    def test_the_allowed_checkpoints_are_named(self) -> None:
        with pytest.raises(Invalid) as caught:
            text_to_image(INFO, "x", checkpoint="nope")
        assert (
            caught.value.message == f"unknown checkpoint 'nope'; one of: {', '.join(CHECKPOINTS)}"
        )

    def test_a_long_listing_is_cut(self) -> None:
        info = ObjectInfo(("euler",), ("normal",), tuple(f"m{i}" for i in range(25)), ())
        with pytest.raises(Invalid, match=r"m19 and 5 more$"):
            text_to_image(info, "x", checkpoint="nope")

    def test_an_engine_without_checkpoints_says_so(self) -> None:
        info = ObjectInfo(("euler",), ("normal",), (), ())
        with pytest.raises(Invalid, match="the image engine offers no checkpoints"):
            text_to_image(info, "x")

    def test_an_empty_prompt_is_refused(self) -> None:
        with pytest.raises(Invalid, match="prompt"):
            text_to_image(INFO, "  ")


def test_sizes_are_read_loosely_and_default_to_a_square() -> None:
    assert parse_size(" 512X768 ") == (512, 768)
    assert parse_size(None) == (1024, 1024)
