"""The bench's job type, loaded by workers through SWITCHBOARD_EXTRA_TASK_MODULES.

`bench.stamp` does nothing but note when its handler was entered (wall clock, so that
the driver in another process can compare) and in which process.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import BaseModel, ConfigDict

from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobRegistry, JobType

MODULE = "bench.jobs.tasks"
STAMP = "bench.stamp"


class StampParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = 0


async def stamp(ctx: JobContext, params: StampParams) -> dict[str, Any]:
    return {"t": time.time(), "pid": os.getpid(), "n": params.n}


def register(registry: JobRegistry) -> None:
    """The SWITCHBOARD_EXTRA_TASK_MODULES hook."""
    registry.register(JobType(STAMP, StampParams, stamp, max_attempts=1))
