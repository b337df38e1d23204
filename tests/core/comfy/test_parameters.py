"""Where generation parameters sit in a ComfyUI graph, and how they merge."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.core.comfy import parameters as params
from switchboard.core.errors import Invalid
from tests.fixtures.upstreams.comfyui_fake import text_to_image


def _with_lora() -> dict[str, Any]:
    graph = text_to_image()
    graph["10"] = {
        "class_type": "LoraLoader",
        "inputs": {
            "model": ["4", 0],
            "clip": ["4", 1],
            "lora_name": "detail_tweaker.safetensors",
            "strength_model": 0.8,
            "strength_clip": 1.0,
        },
    }
    graph["3"]["inputs"]["model"] = ["10", 0]
    return graph


def test_extract_finds_each_known_parameter_with_its_place() -> None:
    found = {(p["nodeId"], p["field"]): (p["type"], p["parameter"], p["value"]) for p in
             params.extract(_with_lora())}  # fmt: skip
    assert found[("3", "seed")] == ("seed", "seed", 42)
    assert found[("3", "steps")] == ("number", "steps", 4)
    assert found[("3", "cfg")] == ("number", "cfg_scale", 7.0)
    assert found[("3", "sampler_name")] == ("sampler", "sampler_name", "euler")
    assert found[("3", "scheduler")] == ("scheduler", "scheduler", "normal")
    assert found[("5", "width")] == ("number", "width", 512)
    assert found[("5", "batch_size")] == ("number", "batch_size", 1)
    assert found[("4", "ckpt_name")][:2] == ("checkpoint", "checkpoint_name")
    assert found[("6", "text")] == ("prompt", "prompt_text", "a lighthouse")
    assert found[("7", "text")] == ("prompt", "negative_prompt", "blurry")
    assert found[("10", "lora_name")] == ("lora", None, "detail_tweaker.safetensors")
    # Inputs wired to other nodes are not parameters.
    assert ("3", "model") not in found and ("6", "clip") not in found


def test_apply_writes_values_into_a_copy_and_describe_reads_them_back() -> None:
    graph = _with_lora()
    values = {"seed": 9, "steps": 30, "prompt_text": "a fox", "width": None}
    applied = params.apply(graph, params.extract(graph), values)
    assert graph["3"]["inputs"]["seed"] == 42  # the original is untouched
    described = params.describe(applied)
    assert (described["seed"], described["steps"], described["prompt_text"]) == (9, 30, "a fox")
    assert described["width"] == 512  # None never overrides
    assert described["negative_prompt"] == "blurry"
    assert described["loras_used"] == [{"name": "detail_tweaker.safetensors", "strength": 0.8}]


def test_merge_lets_later_layers_win_but_never_with_none() -> None:
    merged = params.merge(params.DEFAULTS, {"steps": 25, "seed": 5}, {"seed": None, "cfg_scale": 8})
    assert merged == params.DEFAULTS | {"steps": 25, "seed": 5, "cfg_scale": 8}


def test_a_seed_of_minus_one_becomes_random_and_others_stay() -> None:
    seeds = {params.resolve_seed(-1) for _ in range(20)}
    assert all(0 <= seed < params.RANDOM_SEED_BOUND for seed in seeds if seed is not None)
    assert len(seeds) > 1
    assert params.resolve_seed(12345) == 12345
    assert params.resolve_seed(None) is None


@pytest.mark.parametrize(
    ("graph", "why"),
    [
        ({}, "non-empty object"),
        ([], "non-empty object"),
        ({"nodes": [], "links": []}, "Save (API Format)"),
        ({"1": {"inputs": {}}}, "no class_type"),
        ({"1": {"class_type": "X", "inputs": []}}, "not an object"),
    ],
)
def test_only_api_format_graphs_are_accepted(graph: object, why: str) -> None:
    with pytest.raises(Invalid, match=why.replace("(", r"\(").replace(")", r"\)")):
        params.checked_graph(graph)
