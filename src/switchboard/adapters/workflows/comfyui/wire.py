"""ComfyUI's JSON shapes to the core's workflow types. No I/O.

Shapes as ComfyUI's `server.py` and `execution.py` send them: `/object_info` node specs,
`/prompt` refusals (`error` and `node_errors`), WebSocket messages (`{"type", "data"}`)
and `/history/<id>` entries (`outputs` by node, `status` with its `messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.core.workflows.errors import WorkflowRejected
from switchboard.core.workflows.ports import (
    Completed,
    Executed,
    Executing,
    Failed,
    Interrupted,
    NodeError,
    ObjectInfo,
    OutputImage,
    Progress,
    Queued,
    Started,
    WorkflowEvent,
    WorkflowOutput,
)

ENGINE = "ComfyUI"
# The node classes whose combo inputs list what a server offers, and the inputs.
SAMPLERS = ("KSampler", "sampler_name")
SCHEDULERS = ("KSampler", "scheduler")
CHECKPOINTS = ("CheckpointLoaderSimple", "ckpt_name")
LORAS = ("LoraLoader", "lora_name")
INFO_NODES = tuple(sorted({SAMPLERS[0], CHECKPOINTS[0], LORAS[0]}))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def choices(info: Mapping[str, Any], node: str, field: str) -> tuple[str, ...]:
    """The options of a combo input of `node`, or () when the server has no such node."""
    spec = _dict(_dict(_dict(info.get(node)).get("input")).get("required")).get(field)
    if not isinstance(spec, list) or not spec:
        return ()
    # Classic nodes list the options first; newer (v3) nodes send ["COMBO", {"options"}].
    first = spec[0]
    if first == "COMBO" and len(spec) > 1:
        first = _dict(spec[1]).get("options")
    if not isinstance(first, list):
        return ()
    return tuple(str(option) for option in first)


def object_info(info: Mapping[str, Any]) -> ObjectInfo:
    """The summary of `/object_info` (or of the merged per-class answers)."""
    return ObjectInfo(
        samplers=choices(info, *SAMPLERS),
        schedulers=choices(info, *SCHEDULERS),
        checkpoints=choices(info, *CHECKPOINTS),
        loras=choices(info, *LORAS),
    )


def _error_text(error: Any) -> str:
    """ComfyUI's `{"type", "message", "details"}` (or a bare string) as one line."""
    if isinstance(error, str):
        return error
    error = _dict(error)
    message = str(error.get("message") or error.get("type") or "unknown error")
    details = error.get("details")
    return f"{message}: {details}" if details else message


def node_errors(raw: Any) -> list[NodeError]:
    """`node_errors` of a refused prompt: `{node_id: {"errors": [...], "class_type"}}`."""
    return [
        NodeError(
            node_id=str(node_id),
            class_type=str(_dict(entry).get("class_type") or "unknown"),
            message="; ".join(_error_text(e) for e in _dict(entry).get("errors") or [])
            or "invalid",
        )
        for node_id, entry in _dict(raw).items()
    ]


def rejection(body: Any) -> WorkflowRejected:
    """The error for a 400 answer to `POST /prompt`."""
    answer = _dict(body)
    reason = _error_text(answer.get("error") or "invalid prompt")
    return WorkflowRejected(ENGINE, reason, node_errors(answer.get("node_errors")))


def images(output: Any, node_id: str) -> tuple[OutputImage, ...]:
    """The images of one output node (`{"images": [{"filename", "subfolder", "type"}]}`)."""
    found = []
    for raw in _dict(output).get("images") or []:
        image = _dict(raw)
        filename = image.get("filename")
        if isinstance(filename, str) and filename:
            found.append(
                OutputImage(
                    filename=filename,
                    subfolder=str(image.get("subfolder") or ""),
                    type=str(image.get("type") or "output"),
                    node_id=node_id,
                )
            )
    return tuple(found)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _failed(prompt_id: str, data: dict[str, Any]) -> Failed:
    kind = data.get("exception_type")
    message = str(data.get("exception_message") or "the node raised an error").strip()
    return Failed(
        prompt_id=prompt_id,
        node_id=_optional(data.get("node_id")),
        node_type=_optional(data.get("node_type")),
        message=f"{kind}: {message}" if kind else message,
    )


def event(message: Any, prompt_id: str) -> WorkflowEvent | None:
    """The event a WebSocket message means for `prompt_id`; None for anything else.

    Messages of other prompts are dropped (a message without a prompt id, as older
    servers send `progress`, is ours: each prompt has its own client id). `executing`
    with no node ends a prompt; `execution_success` comes before the history is stored,
    so it is not the end. `status` is only a queue change here: the caller looks.
    """
    kind = _dict(message).get("type")
    data = _dict(_dict(message).get("data"))
    if data.get("prompt_id", prompt_id) != prompt_id:
        return None
    if kind == "execution_start":
        return Started(prompt_id)
    if kind == "executing":
        node = data.get("node")
        return Completed(prompt_id) if node is None else Executing(prompt_id, str(node))
    if kind == "progress":
        value, total = _int(data.get("value")), _int(data.get("max"))
        return Progress(prompt_id, _optional(data.get("node")), value, total)
    if kind == "executed":
        node = str(data.get("node") or data.get("display_node") or "")
        return Executed(prompt_id, node, images(data.get("output"), node))
    if kind == "execution_error":
        return _failed(prompt_id, data)
    if kind == "execution_interrupted":
        return Interrupted(prompt_id, _optional(data.get("node_id")))
    return None


def queue_remaining(message: Any) -> int | None:
    """`queue_remaining` of a `status` message."""
    status = _dict(_dict(_dict(message).get("data")).get("status"))
    remaining = _dict(status.get("exec_info")).get("queue_remaining")
    return remaining if isinstance(remaining, int) else None


def is_status(message: Any) -> bool:
    """Whether a WebSocket message is a queue `status` broadcast."""
    return _dict(message).get("type") == "status"


def queued(prompt_id: str, message: Any) -> Queued:
    """The `Queued` event for a `status` message."""
    return Queued(prompt_id, queue_remaining(message))


def queue_ids(queue: Any) -> tuple[set[str], set[str]]:
    """The prompt ids (running, pending) of `GET /queue`: items are [number, id, ...]."""
    queue = _dict(queue)

    def ids(items: Any) -> set[str]:
        return {
            str(item[1])
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, list) and len(item) > 1
        }

    return ids(queue.get("queue_running")), ids(queue.get("queue_pending"))


def history_entry(history: Any, prompt_id: str) -> dict[str, Any] | None:
    """The entry of `GET /history/<id>`; None while the prompt has not finished."""
    entry = _dict(history).get(prompt_id)
    return entry if isinstance(entry, dict) else None


def outputs(entry: Mapping[str, Any], prompt_id: str) -> WorkflowOutput:
    """Every image of a history entry, output node by output node."""
    found: list[OutputImage] = []
    for node_id, output in _dict(entry.get("outputs")).items():
        found.extend(images(output, str(node_id)))
    return WorkflowOutput(prompt_id, tuple(found))


def ending(entry: Mapping[str, Any], prompt_id: str) -> Failed | Interrupted | None:
    """How a finished prompt failed, from its history status; None when it succeeded."""
    status = _dict(entry.get("status"))
    for item in status.get("messages") or []:
        if isinstance(item, list) and len(item) == 2:
            name, data = item
            if name == "execution_error":
                return _failed(prompt_id, _dict(data))
            if name == "execution_interrupted":
                return Interrupted(prompt_id, _optional(_dict(data).get("node_id")))
    if status.get("status_str") == "error":
        return Failed(prompt_id, None, None, "the prompt ended in an error")
    return None


def history_events(entry: Mapping[str, Any], prompt_id: str) -> list[WorkflowEvent]:
    """The events a finished prompt's history stands for: its outputs, then its end."""
    end = ending(entry, prompt_id)
    if end is not None:
        return [end]
    done = outputs(entry, prompt_id)
    by_node: dict[str, list[OutputImage]] = {}
    for image in done.images:
        by_node.setdefault(image.node_id, []).append(image)
    executed: list[WorkflowEvent] = [
        Executed(prompt_id, node, tuple(found)) for node, found in by_node.items()
    ]
    return [*executed, Completed(prompt_id)]
