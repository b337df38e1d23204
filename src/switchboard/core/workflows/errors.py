"""Errors of the workflows domain: an engine away, a workflow refused, a run that failed."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.core.errors import Conflict, UpstreamRejected, UpstreamUnavailable
from switchboard.core.providers.errors import ProviderNotConfigured
from switchboard.core.workflows.ports import Failed, NodeError

# An engine's messages can be long (tracebacks, whole value lists): keep them readable.
MAX_MESSAGE_CHARS = 300
MAX_NODES_NAMED = 3


class WorkflowEngineUnreachable(UpstreamUnavailable):
    """The engine could not be connected to (down, wrong address, refused)."""

    default_code = "workflow_engine_unreachable"

    def __init__(self, engine: str, where: str) -> None:
        super().__init__(f"cannot connect to {engine} at {where}")


class WorkflowEngineNotConfigured(ProviderNotConfigured):
    """Work was asked of the operator's engine, and the operator has not set one up."""

    default_code = "workflow_engine_not_configured"

    def __init__(self) -> None:
        super().__init__("ComfyUI is not configured (COMFYUI_URL)", param="provider")


class WorkflowProducedNothing(UpstreamRejected):
    """A workflow ended successfully without a single output image."""

    default_code = "workflow_no_images"

    def __init__(self, engine: str) -> None:
        super().__init__(f"{engine} finished the workflow without producing an image")


class WorkflowRejected(UpstreamRejected):
    """The engine refused to queue the workflow; `nodes` says which nodes and why."""

    default_code = "workflow_rejected"

    def __init__(self, engine: str, reason: str, nodes: Sequence[NodeError] = ()) -> None:
        self.nodes = tuple(nodes)
        named = "; ".join(
            f"node {n.node_id} ({n.class_type}): {n.message}" for n in self.nodes[:MAX_NODES_NAMED]
        )
        more = len(self.nodes) - MAX_NODES_NAMED
        if more > 0:
            named += f"; and {more} more"
        text = f"{engine} rejected the workflow: {_short(reason)}"
        super().__init__(f"{text} ({named})" if named else text, param="workflow")


class WorkflowFailed(UpstreamRejected):
    """A node raised while the engine ran the workflow (not retried: it would again)."""

    default_code = "workflow_failed"

    def __init__(self, engine: str, failure: Failed) -> None:
        self.failure = failure
        where = (
            f" at node {failure.node_id} ({failure.node_type or 'unknown'})"
            if failure.node_id
            else ""
        )
        super().__init__(f"{engine} failed{where}: {_short(failure.message)}")


class WorkflowNotFinished(Conflict):
    """Outputs were asked for before the engine finished the prompt (or it is unknown)."""

    default_code = "workflow_not_finished"


class WorkflowInterrupted(Conflict):
    """Outputs were asked for of a prompt that was interrupted."""

    default_code = "workflow_interrupted"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"
