"""What the core needs from a workflow engine (ComfyUI), and the plain types it trades in.

A workflow is ComfyUI's API-format graph: `{node_id: {"class_type": ..., "inputs": ...}}`.
It is submitted as is; the engine follows it to an end (completed, failed or interrupted),
then its output images are read and fetched. Adapters raise only `core.errors` kinds
(`core.workflows.errors` for the engine's own refusals and failures).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Workflow = Mapping[str, Any]

# The provider name image requests give to run on the operator's workflow engine.
ENGINE_PROVIDER = "comfyui"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """The choices an engine offers for the common nodes of an image workflow."""

    samplers: tuple[str, ...]
    schedulers: tuple[str, ...]
    checkpoints: tuple[str, ...]
    loras: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubmittedPrompt:
    """A workflow the engine queued: its id, and the client id its events are sent to."""

    prompt_id: str
    client_id: str
    number: float = 0  # the queue position ComfyUI assigned


@dataclass(frozen=True, slots=True)
class NodeError:
    """Why the engine refused one node of a workflow."""

    node_id: str
    class_type: str
    message: str


@dataclass(frozen=True, slots=True)
class OutputImage:
    """An image a workflow produced, as the engine names it (not yet fetched)."""

    filename: str
    subfolder: str = ""
    type: str = "output"
    node_id: str = ""


@dataclass(frozen=True, slots=True)
class WorkflowOutput:
    """Everything a finished workflow produced."""

    prompt_id: str
    images: tuple[OutputImage, ...]


@dataclass(frozen=True, slots=True)
class FetchedImage:
    """An output image's bytes, checked to be a raster image of `media_type`."""

    image: OutputImage
    data: bytes
    media_type: str


# -- progress events, in the order an engine sends them ----------------------------------
@dataclass(frozen=True, slots=True)
class Queued:
    """The prompt waits in the queue; `remaining` prompts are queued in all, when known."""

    prompt_id: str
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """The engine started executing the prompt."""

    prompt_id: str


@dataclass(frozen=True, slots=True)
class Executing:
    """The engine is executing one node."""

    prompt_id: str
    node_id: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A long node (a sampler) reports `value` of `max` steps done."""

    prompt_id: str
    node_id: str | None
    value: int
    max: int


@dataclass(frozen=True, slots=True)
class Executed:
    """An output node finished, with the images it produced."""

    prompt_id: str
    node_id: str
    images: tuple[OutputImage, ...]


@dataclass(frozen=True, slots=True)
class Completed:
    """The prompt finished successfully: its outputs can be read. Terminal."""

    prompt_id: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A node raised: the engine's own message, naming the node. Terminal."""

    prompt_id: str
    node_id: str | None
    node_type: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The prompt was interrupted while running, or removed from the queue. Terminal."""

    prompt_id: str
    node_id: str | None = None


WorkflowEvent = (
    Queued | Started | Executing | Progress | Executed | Completed | Failed | Interrupted
)
TERMINAL_EVENTS = (Completed, Failed, Interrupted)


class WorkflowEngine(Protocol):
    """One workflow engine (a ComfyUI server). Every call has a timeout."""

    # The engine's name as errors and progress messages show it ("ComfyUI").
    vendor: str

    async def object_info(self) -> ObjectInfo:
        """The samplers, schedulers, checkpoints and LoRAs the engine offers."""
        ...

    async def submit(self, workflow: Workflow) -> SubmittedPrompt:
        """Queue `workflow`; `WorkflowRejected` (naming the nodes) when the engine refuses it."""
        ...

    def follow(self, prompt: SubmittedPrompt) -> AsyncIterator[WorkflowEvent]:
        """The prompt's progress events in order, ending with exactly one terminal event
        (`Completed`, `Failed` or `Interrupted`). Closing the iterator early stops
        following, not the prompt (see `interrupt`)."""
        ...

    async def outputs(self, prompt_id: str) -> WorkflowOutput:
        """The images a finished prompt produced; `WorkflowFailed` if it failed."""
        ...

    async def fetch_image(self, image: OutputImage) -> FetchedImage:
        """One output image's bytes, bounded in size and checked to be an image."""
        ...

    async def interrupt(self, prompt_id: str) -> None:
        """Stop the prompt: removed from the queue if pending, interrupted if running,
        nothing if it already ended."""
        ...

    async def test_connection(self) -> None:
        """Return when the engine answers; `WorkflowEngineUnreachable` when it does not."""
        ...
