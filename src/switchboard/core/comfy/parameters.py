"""Parameters of a generation: the defaults, how they merge, and where each one sits in
a ComfyUI graph (API format: `{node_id: {"class_type", "inputs"}}`).

Saving a workflow finds its parameters once (`extract`); a generation writes its values
into a copy of the graph at those places (`apply`) and describes what it submitted from
the graph itself (`describe`), so the row says what really ran.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from typing import Any

from switchboard.core.comfy.schemas import EDITOR_FORMAT, MAX_NODES
from switchboard.core.errors import Invalid

# Spoon Feeder's documented defaults (the built-in text-to-image graph starts from these).
DEFAULTS: dict[str, Any] = {
    "width": 1024,
    "height": 1024,
    "steps": 20,
    "cfg_scale": 7.0,
    "seed": -1,
    "sampler_name": "euler",
    "scheduler": "normal",
    "batch_size": 1,
}
RANDOM_SEED = -1
# As the original: a random seed is below 2**31 - 1, which every client reads exactly.
RANDOM_SEED_BOUND = 2**31 - 1

POSITIVE = "prompt_text"
NEGATIVE = "negative_prompt"
Slots = dict[str, tuple[str, str | None]]

_SAMPLER: Slots = {
    "steps": ("number", "steps"),
    "cfg": ("number", "cfg_scale"),
    "sampler_name": ("sampler", "sampler_name"),
    "scheduler": ("scheduler", "scheduler"),
}
_LATENT: Slots = {
    "width": ("number", "width"),
    "height": ("number", "height"),
    "batch_size": ("number", "batch_size"),
}
_LORA: Slots = {
    "lora_name": ("lora", None),
    "strength_model": ("number", None),
    "strength_clip": ("number", None),
}
# class_type -> input -> (type, generation parameter it carries, None for none)
SLOTS: dict[str, Slots] = {
    "KSampler": {"seed": ("seed", "seed"), **_SAMPLER},
    "KSamplerAdvanced": {"noise_seed": ("seed", "seed"), **_SAMPLER},
    "EmptyLatentImage": _LATENT,
    "EmptySD3LatentImage": _LATENT,
    "CheckpointLoaderSimple": {"ckpt_name": ("checkpoint", "checkpoint_name")},
    "LoraLoader": _LORA,
    "LoraLoaderModelOnly": {k: v for k, v in _LORA.items() if k != "strength_clip"},
}
PROMPT_NODES = frozenset({"CLIPTextEncode"})
LORA_NODES = frozenset({"LoraLoader", "LoraLoaderModelOnly"})
SAMPLER_NODES = frozenset({"KSampler", "KSamplerAdvanced"})


def merge(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The layers merged, later ones winning; a None value never overrides."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in (layer or {}).items() if v is not None})
    return merged


def resolve_seed(seed: int | None) -> int | None:
    """A random seed for -1; any other seed (or None) as given."""
    return secrets.randbelow(RANDOM_SEED_BOUND) if seed == RANDOM_SEED else seed


def checked_graph(workflow: Any, *, param: str = "workflowJson") -> dict[str, Any]:
    """`workflow` when it is an API-format graph; `Invalid` saying what is wrong."""
    if not isinstance(workflow, dict) or not workflow:
        raise Invalid("must be a ComfyUI workflow in API format (a non-empty object)", param=param)
    if "nodes" in workflow and "links" in workflow:
        raise Invalid(EDITOR_FORMAT, param=param)
    if len(workflow) > MAX_NODES:
        raise Invalid(f"has more than {MAX_NODES} nodes", param=param)
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise Invalid(f"node {str(node_id)[:40]!r} has no class_type", param=param)
        if not isinstance(node.get("inputs", {}), dict):
            raise Invalid(
                f"node {str(node_id)[:40]!r} has inputs that are not an object", param=param
            )
    return workflow


def extract(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every known parameter of the graph: `{nodeId, field, type, value, parameter}`,
    in node order. Inputs linked to another node's output are not parameters."""
    negatives = _linked_from_samplers(workflow, "negative")
    found: list[dict[str, Any]] = []
    for node_id, node in workflow.items():
        class_type = node["class_type"]
        inputs = node.get("inputs") or {}
        slots = dict(SLOTS.get(class_type, {}))
        if class_type in PROMPT_NODES:
            slots["text"] = ("prompt", NEGATIVE if node_id in negatives else POSITIVE)
        for field, (kind, parameter) in slots.items():
            value = inputs.get(field)
            if field in inputs and not _is_link(value):
                found.append(
                    {
                        "nodeId": node_id,
                        "field": field,
                        "type": kind,
                        "value": value,
                        "parameter": parameter,
                    }
                )
    return found


def apply(
    workflow: Mapping[str, Any], slots: list[dict[str, Any]], values: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of the graph with `values` (by parameter name) written at their slots."""
    graph = copy.deepcopy(dict(workflow))
    for slot in slots:
        parameter = slot.get("parameter")
        value = values.get(parameter) if isinstance(parameter, str) else None
        node = graph.get(slot["nodeId"])
        if value is not None and isinstance(node, dict):
            node.setdefault("inputs", {})[slot["field"]] = value
    return graph


def describe(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """What the graph will do, by parameter name (first slot of each wins), with the
    LoRAs it loads as `loras_used`."""
    described: dict[str, Any] = {}
    loras: list[dict[str, Any]] = []
    for slot in extract(workflow):
        parameter = slot["parameter"]
        if parameter is not None and parameter not in described:
            described[parameter] = slot["value"]
        if slot["field"] == "lora_name":
            inputs = workflow[slot["nodeId"]].get("inputs") or {}
            loras.append({"name": slot["value"], "strength": inputs.get("strength_model")})
    described["loras_used"] = loras
    return described


def _linked_from_samplers(workflow: Mapping[str, Any], input_name: str) -> set[str]:
    linked: set[str] = set()
    for node in workflow.values():
        if node["class_type"] in SAMPLER_NODES:
            value: Any = (node.get("inputs") or {}).get(input_name)
            if _is_link(value):
                linked.add(str(value[0]))
    return linked


def _is_link(value: Any) -> bool:
    """An input wired to another node's output: `[node_id, output_index]`."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)
