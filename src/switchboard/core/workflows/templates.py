"""Workflows built from a prompt and options: ComfyUI's text-to-image graph in API format.

Options are checked against what the engine offers (its object info) before anything is
queued, so an unknown checkpoint or sampler is an `Invalid` naming the allowed values,
not a refusal from the engine after a round trip.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.core.errors import Invalid
from switchboard.core.workflows.ports import ObjectInfo

DEFAULT_SIZE = "1024x1024"
DEFAULT_STEPS = 20
DEFAULT_CFG = 7.0
MAX_STEPS = 150
MAX_CFG = 30.0
MAX_BATCH = 8
# ComfyUI takes 64 bits; clients in JavaScript read integers exactly up to 2**53.
MAX_SEED = 2**53 - 1
# Latents are an eighth of the image: sides must be multiples of 8 (ComfyUI's own bound).
SIDE_STEP = 8
MIN_SIDE = 64
MAX_SIDE = 4096
# What ComfyUI's default graph uses, when the engine offers it.
PREFERRED_SAMPLER = "euler"
PREFERRED_SCHEDULER = "normal"
FILENAME_PREFIX = "switchboard"
# The node that saves the images, in every graph this module builds.
SAVE_NODE = "9"
# How many allowed values an error lists before "and N more".
MAX_NAMED = 20


@dataclass(frozen=True, slots=True)
class TextToImage:
    """A text-to-image request with every option filled in and checked."""

    prompt: str
    checkpoint: str
    width: int
    height: int
    steps: int
    cfg: float
    sampler: str
    scheduler: str
    seed: int
    batch: int
    negative_prompt: str = ""

    @property
    def size(self) -> str:
        """`"WxH"`, as image requests spell a size."""
        return f"{self.width}x{self.height}"


def parse_size(size: str | None) -> tuple[int, int]:
    """(width, height) of `"WxH"`; `Invalid` naming the bounds when it is not one."""
    text = (size or DEFAULT_SIZE).strip().lower()
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise Invalid(f"size must be WIDTHxHEIGHT (for example {DEFAULT_SIZE})", param="size")
    sides = int(width), int(height)
    if any(not MIN_SIDE <= s <= MAX_SIDE or s % SIDE_STEP for s in sides):
        raise Invalid(
            f"size sides must be multiples of {SIDE_STEP} between {MIN_SIDE} and {MAX_SIDE}",
            param="size",
        )
    return sides


def choose(
    offered: Sequence[str],
    wanted: str | None,
    *,
    what: str,
    param: str,
    preferred: str | None = None,
) -> str:
    """`wanted` if the engine offers it; when None, `preferred` if offered, else the first
    offered. `Invalid` naming the allowed values, or saying the engine has none."""
    if not offered:
        raise Invalid(f"the image engine offers no {what}s", param=param)
    if wanted is None:
        return preferred if preferred is not None and preferred in offered else offered[0]
    if wanted not in offered:
        raise Invalid(f"unknown {what} {wanted!r}; one of: {_listing(offered)}", param=param)
    return wanted


def text_to_image(
    info: ObjectInfo,
    prompt: str,
    *,
    checkpoint: str | None = None,
    size: str | None = None,
    negative_prompt: str | None = None,
    steps: int | None = None,
    cfg: float | None = None,
    sampler: str | None = None,
    scheduler: str | None = None,
    seed: int | None = None,
    batch: int = 1,
) -> TextToImage:
    """The request, defaults filled from the engine's offer, every option checked."""
    if not prompt.strip():
        raise Invalid("prompt must not be empty", param="prompt")
    width, height = parse_size(size)
    _bounded("steps", DEFAULT_STEPS if steps is None else steps, 1, MAX_STEPS)
    _bounded("cfg", DEFAULT_CFG if cfg is None else cfg, 0, MAX_CFG)
    _bounded("n", batch, 1, MAX_BATCH)
    seed = secrets.randbelow(MAX_SEED + 1) if seed is None else seed
    _bounded("seed", seed, 0, MAX_SEED)
    return TextToImage(
        prompt=prompt,
        checkpoint=choose(info.checkpoints, checkpoint, what="checkpoint", param="model"),
        width=width,
        height=height,
        steps=DEFAULT_STEPS if steps is None else steps,
        cfg=DEFAULT_CFG if cfg is None else cfg,
        sampler=choose(
            info.samplers, sampler, what="sampler", param="sampler", preferred=PREFERRED_SAMPLER
        ),
        scheduler=choose(
            info.schedulers,
            scheduler,
            what="scheduler",
            param="scheduler",
            preferred=PREFERRED_SCHEDULER,
        ),
        seed=seed,
        batch=batch,
        negative_prompt=negative_prompt or "",
    )


def text_to_image_workflow(request: TextToImage) -> dict[str, Any]:
    """ComfyUI's default text-to-image graph in API format; node `SAVE_NODE` saves."""
    return {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": request.seed,
                "steps": request.steps,
                "cfg": request.cfg,
                "sampler_name": request.sampler,
                "scheduler": request.scheduler,
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": request.checkpoint}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {
                "width": request.width,
                "height": request.height,
                "batch_size": request.batch,
            },
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": request.prompt, "clip": ["4", 1]}},
        "7": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": request.negative_prompt, "clip": ["4", 1]},
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        SAVE_NODE: {
            "class_type": "SaveImage",
            "inputs": {"filename_prefix": FILENAME_PREFIX, "images": ["8", 0]},
        },
    }


def _bounded(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low:g} and {high:g}", param=name)


def _listing(options: Sequence[str]) -> str:
    shown = ", ".join(options[:MAX_NAMED])
    more = len(options) - MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown
