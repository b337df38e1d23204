"""How a task runs, decided from its type, provider and options.

Checked when the task is created, so that a client hears of a bad provider or option at
once (400), and again when its job runs, from the stored row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.core.images.tasks import ImageGenerationParams
from switchboard.core.providers.kinds import PROVIDER_KINDS
from switchboard.core.providers.known import known_provider
from switchboard.core.providers.ports import Capability
from switchboard.core.tasks.errors import InvalidTask
from switchboard.core.tasks.schemas import TaskType
from switchboard.core.workflows.ports import ENGINE_PROVIDER

M = TypeVar("M", bound=BaseModel)

# Spoon Feeder's provider names that switchboard knows by another.
ALIASES = {"claude": "anthropic"}
# The image model used when a task names none (the OpenAI-compatible image APIs).
DEFAULT_IMAGE_MODEL = "dall-e-3"
# The options of an image task that its generation understands; others are ignored.
IMAGE_OPTIONS = (
    "model",
    "size",
    "quality",
    "style",
    "n",
    "negative_prompt",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "seed",
)


class TextOptions(BaseModel):
    """The options of a text task that reach the model; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(default=None, min_length=1, max_length=200)
    system: str | None = Field(default=None, max_length=20_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)


@dataclass(frozen=True, slots=True)
class TextPlan:
    """A text task: one completion from a chat provider."""

    provider: str
    prompt: str
    options: TextOptions


@dataclass(frozen=True, slots=True)
class WorkflowPlan:
    """A video or audio task: a caller-supplied workflow on the operator's ComfyUI
    (None when the task brought none; the task then fails with a clear error)."""

    type: TaskType
    workflow: dict[str, Any] | None


Plan = TextPlan | ImageGenerationParams | WorkflowPlan


def plan(type: TaskType, provider: str, prompt: str, options: dict[str, Any]) -> Plan:
    """How a task of `type` runs; `InvalidTask` when it cannot run as asked."""
    if type is TaskType.TEXT:
        return TextPlan(chat_provider(provider), prompt, _parsed(TextOptions, options))
    if type is TaskType.IMAGE:
        return image_params(provider, prompt, options)
    if provider.strip().lower() != ENGINE_PROVIDER:
        raise InvalidTask(f"{type.value} tasks run on {ENGINE_PROVIDER}", param="provider")
    workflow = options.get("workflow")
    if workflow is not None and not (isinstance(workflow, dict) and workflow):
        raise InvalidTask(
            "must be a workflow in ComfyUI's API format (an object of nodes)",
            param="options.workflow",
        )
    return WorkflowPlan(type, workflow)


def chat_provider(provider: str) -> str:
    """The switchboard name of a chat provider (`claude` is `anthropic`)."""
    name = provider.strip().lower()
    known = known_provider(ALIASES.get(name, name))
    if known is None or Capability.CHAT not in PROVIDER_KINDS[known.kind].capabilities:
        raise InvalidTask(f"Unknown text provider '{provider}'", param="provider")
    return known.name


def image_params(provider: str, prompt: str, options: dict[str, Any]) -> ImageGenerationParams:
    """The `image_generation` parameters of an image task (its options picked out)."""
    params: dict[str, Any] = {k: options[k] for k in IMAGE_OPTIONS if k in options}
    engine = provider.strip().lower() == ENGINE_PROVIDER
    if not engine:
        params.setdefault("model", DEFAULT_IMAGE_MODEL)
    return _parsed(
        ImageGenerationParams,
        {**params, "prompt": prompt, "provider": ALIASES.get(provider, provider)},
    )


def _parsed(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        param = where if where in ("provider", "prompt") else f"options.{where}"
        raise InvalidTask(error["msg"], param=param) from None
