"""Errors of the tasks domain."""

from switchboard.core.errors import Invalid, NotFound


class TaskNotFound(NotFound):
    """No such task for this user."""

    default_code = "task_not_found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id} not found")


class ResultNotFound(NotFound):
    """No such result for this user."""

    default_code = "result_not_found"

    def __init__(self, result_id: str) -> None:
        super().__init__(f"Result {result_id} not found")


class InvalidTask(Invalid):
    """A task that cannot run as asked (unknown provider, options of the wrong shape)."""

    default_code = "invalid_task"


class TaskStateConflict(Invalid):
    """The task is not in a state that allows this (retry a task that did not fail)."""

    default_code = "task_state_conflict"


class NoWorkflow(Invalid):
    """A video or audio task without a ComfyUI workflow to produce it; fails the task."""

    default_code = "no_workflow"

    def __init__(self, task_type: str) -> None:
        super().__init__(
            f"No ComfyUI workflow configured for {task_type} tasks: "
            "pass one in options.workflow (ComfyUI's API format)",
            param="options.workflow",
        )
