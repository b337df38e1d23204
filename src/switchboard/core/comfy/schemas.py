"""What the ComfyUI workspace takes and hands out (snake_case, as Spoon Feeder shows it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.core.workflows import templates

MAX_PROMPT = 10_000
MAX_TITLE = 200
MAX_NODES = 1000
EDITOR_FORMAT = "is ComfyUI's editor format; export it with 'Save (API Format)' instead"


class GraphNode(BaseModel):
    """One node of an API-format graph (other keys, such as `_meta`, are kept)."""

    model_config = ConfigDict(extra="allow")

    class_type: str = Field(min_length=1, max_length=200)
    inputs: dict[str, Any] = Field(default_factory=dict)


Graph = Annotated[dict[str, GraphNode], Field(min_length=1, max_length=MAX_NODES)]
"""ComfyUI's API format: `{node_id: {"class_type", "inputs"}}`."""


def graph_json(graph: dict[str, GraphNode]) -> dict[str, Any]:
    """The graph as plain JSON."""
    return {node_id: node.model_dump() for node_id, node in graph.items()}


def refuse_editor_format(value: Any, field: str) -> Any:
    """A `mode="before"` check: the editor's format is named as such, not as a list of
    missing node fields."""
    graph = value.get(field) if isinstance(value, dict) else None
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise ValueError(f"{field} {EDITOR_FORMAT}")
    return value


class GenerationParameters(BaseModel):
    """Generation parameters; each optional (merged over defaults and earlier choices)."""

    model_config = ConfigDict(extra="forbid")

    # Latents are an eighth of the image: sides are multiples of 8.
    width: int | None = Field(
        default=None, ge=templates.MIN_SIDE, le=templates.MAX_SIDE, multiple_of=templates.SIDE_STEP
    )
    height: int | None = Field(
        default=None, ge=templates.MIN_SIDE, le=templates.MAX_SIDE, multiple_of=templates.SIDE_STEP
    )
    steps: int | None = Field(default=None, ge=1, le=templates.MAX_STEPS)
    cfg_scale: float | None = Field(default=None, ge=0, le=templates.MAX_CFG)
    # -1 asks for a random seed.
    seed: int | None = Field(default=None, ge=-1, le=templates.MAX_SEED)
    sampler_name: str | None = Field(default=None, min_length=1, max_length=100)
    scheduler: str | None = Field(default=None, min_length=1, max_length=100)
    batch_size: int | None = Field(default=None, ge=1, le=templates.MAX_BATCH)
    checkpoint_name: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("width", "height", "steps", "cfg_scale", "seed", "batch_size", mode="before")
    @classmethod
    def _numbers_only(cls, value: Any) -> Any:
        # JSON numbers only: `true` is not a seed and `"20"` is not a number of steps
        # (544.0 is still 544, as JSON Schema counts it).
        if isinstance(value, bool | str):
            raise ValueError("must be a number")
        return value

    def given(self) -> dict[str, Any]:
        """Only the parameters that were set."""
        return self.model_dump(exclude_none=True)


class SessionCreate(BaseModel):
    """A new session."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="Untitled session", min_length=1, max_length=MAX_TITLE)
    profile_id: str | None = Field(default=None, max_length=64)


class SessionUpdate(BaseModel):
    """Changes to a session; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    current_workflow_id: str | None = Field(default=None, max_length=64)


class WorkflowCreate(BaseModel):
    """A workflow to save: its API-format graph is checked and its parameters found."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=2000)
    profile_id: str | None = Field(default=None, max_length=64)
    workflow_json: dict[str, Any]
    default_parameters: GenerationParameters = Field(default_factory=GenerationParameters)


class WorkflowUpdate(BaseModel):
    """Changes to a workflow; a new graph has its parameters found again."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=2000)
    workflow_json: dict[str, Any] | None = None


class WorkflowDefaults(BaseModel):
    """A workflow's default parameters and whether it is the user's default workflow."""

    model_config = ConfigDict(extra="forbid")

    default_parameters: GenerationParameters | None = None
    is_default: bool | None = None


class GenerateInput(BaseModel):
    """A generation in a session: a prompt, optionally a workflow and parameters."""

    model_config = ConfigDict(extra="forbid")

    prompt_text: str = Field(min_length=1, max_length=MAX_PROMPT)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    workflow_id: str | None = Field(default=None, max_length=64)
    parameters: GenerationParameters = Field(default_factory=GenerationParameters)


class OutputRead(BaseModel):
    """One output image, as ComfyUI named it (the image proxy serves it by that name)."""

    filename: str
    subfolder: str
    type: str


class GenerationRead(BaseModel):
    """A generation as its owner sees it."""

    id: str
    session_id: str | None
    workflow_id: str | None
    prompt_id: str
    prompt_text: str
    negative_prompt: str | None
    parameters: dict[str, Any]
    width: int | None
    height: int | None
    steps: int | None
    cfg_scale: float | None
    seed: int | None
    sampler_name: str | None
    scheduler: str | None
    batch_size: int | None
    checkpoint_name: str | None
    loras_used: list[Any]
    status: str
    error: str | None
    generation_time_seconds: float | None
    outputs: list[OutputRead]
    created_at: datetime
    completed_at: datetime | None


class GenerationWorkflow(BaseModel):
    """The exact graph a generation submitted, with what it was asked for."""

    generation_id: str
    workflow_json: dict[str, Any]
    parameters: dict[str, Any]
    prompt_text: str
    negative_prompt: str | None


class SessionRead(BaseModel):
    """A session with its counts (computed from its generations, so always current)."""

    id: str
    profile_id: str | None
    profile_name: str | None = None
    profile_url: str | None = None
    title: str
    current_workflow_id: str | None
    last_parameters: dict[str, Any]
    generation_count: int
    completed_count: int
    failed_count: int
    created_at: datetime
    updated_at: datetime
    generations: list[GenerationRead] | None = None


class WorkflowRead(BaseModel):
    """A saved workflow (the graph itself only when one is read alone)."""

    id: str
    name: str
    description: str | None
    profile_id: str | None
    profile_name: str | None = None
    is_default: bool
    generation_count: int
    default_parameters: dict[str, Any]
    extracted_parameters: list[dict[str, Any]]
    workflow_json: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime


class ComfyOptions(BaseModel):
    """What a generation may choose from."""

    samplers: list[str]
    schedulers: list[str]
    dimensions: list[int]
    checkpoints: list[str]
    loras: list[str]
