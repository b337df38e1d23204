"""Spoon Feeder's ComfyUI request bodies, field by field as the document spells them
(camelCase where it uses camelCase), and their translation to the core's inputs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from switchboard.core.comfy.schemas import (
    MAX_PROMPT,
    MAX_TITLE,
    GenerationParameters,
    Graph,
    SessionCreate,
    SessionUpdate,
    WorkflowCreate,
    WorkflowDefaults,
    WorkflowUpdate,
    graph_json,
    refuse_editor_format,
)

MAX_ID = 64
MAX_DESCRIPTION = 2000


class SessionCreateBody(BaseModel):
    """`POST /comfyui/sessions`."""

    model_config = ConfigDict(extra="forbid")

    profileId: str | None = Field(default=None, max_length=MAX_ID)  # noqa: N815
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)

    def to_core(self) -> SessionCreate:
        """The core's input."""
        if self.title is None:
            return SessionCreate(profile_id=self.profileId)
        return SessionCreate(profile_id=self.profileId, title=self.title)


class SessionUpdateBody(BaseModel):
    """`PUT /comfyui/sessions/:id`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    current_workflow_id: str | None = Field(default=None, max_length=MAX_ID)

    def to_core(self) -> SessionUpdate:
        """The core's input."""
        return SessionUpdate(title=self.title, current_workflow_id=self.current_workflow_id)


class WorkflowCreateBody(BaseModel):
    """`POST /comfyui/workflows`: `workflowJson` is ComfyUI's API format."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    profileId: str | None = Field(default=None, max_length=MAX_ID)  # noqa: N815
    workflowJson: Graph  # noqa: N815
    defaultParameters: GenerationParameters | None = None  # noqa: N815

    @model_validator(mode="before")
    @classmethod
    def _api_format(cls, value: Any) -> Any:
        return refuse_editor_format(value, "workflowJson")

    def to_core(self) -> WorkflowCreate:
        """The core's input."""
        return WorkflowCreate(
            name=self.name,
            description=self.description,
            profile_id=self.profileId,
            workflow_json=graph_json(self.workflowJson),
            default_parameters=self.defaultParameters or GenerationParameters(),
        )


class WorkflowUpdateBody(BaseModel):
    """`PUT /comfyui/workflows/:id`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    workflowJson: Graph | None = None  # noqa: N815

    @model_validator(mode="before")
    @classmethod
    def _api_format(cls, value: Any) -> Any:
        return refuse_editor_format(value, "workflowJson")

    def to_core(self) -> WorkflowUpdate:
        """The core's input."""
        graph = graph_json(self.workflowJson) if self.workflowJson is not None else None
        return WorkflowUpdate(name=self.name, description=self.description, workflow_json=graph)


class WorkflowParametersBody(WorkflowDefaults):
    """`PATCH /comfyui/workflows/:id/parameters` (snake_case, as the document shows)."""


class ExecuteParameters(GenerationParameters):
    """The parameters of `POST /comfyui/workflows/:id/execute`: generation parameters,
    and the prompts to write into the graph (`prompt` as the document names it)."""

    prompt: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)

    def generation(self) -> GenerationParameters:
        """The generation parameters alone."""
        return GenerationParameters.model_validate(
            self.model_dump(exclude={"prompt", "negative_prompt"})
        )


class ExecuteBody(BaseModel):
    """`POST /comfyui/workflows/:id/execute`."""

    model_config = ConfigDict(extra="forbid")

    parameters: ExecuteParameters = Field(default_factory=ExecuteParameters)


class PromptBody(BaseModel):
    """`POST /comfyui/prompt` (legacy): a text prompt, or a whole API-format graph."""

    model_config = ConfigDict(extra="forbid")

    sessionId: str | None = Field(default=None, max_length=MAX_ID)  # noqa: N815
    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT)] | Graph
    negativePrompt: str | None = Field(default=None, max_length=MAX_PROMPT)  # noqa: N815

    @model_validator(mode="before")
    @classmethod
    def _api_format(cls, value: Any) -> Any:
        return refuse_editor_format(value, "prompt")

    def graph_or_text(self) -> str | dict[str, Any]:
        """The text prompt, or the graph as plain JSON."""
        return self.prompt if isinstance(self.prompt, str) else graph_json(self.prompt)
