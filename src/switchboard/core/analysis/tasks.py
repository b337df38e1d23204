"""The `analysis` job: an asynchronous analysis, run by the jobs engine.

The query was counted and logged when the job was created; the handler runs the
workflow and finishes that log row. Delivery is at least once: a redelivered job runs
the workflow again and updates the same log row (never counting the query twice).
"""

from __future__ import annotations

from typing import Any

from switchboard.core.analysis.schemas import AnalysisInput
from switchboard.core.analysis.service import ANALYSIS_JOB, AnalysisSetup, AnalysisWorkflow
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobType


class AnalysisJobHandler:
    """Runs one `analysis` job."""

    def __init__(self, setup: AnalysisSetup) -> None:
        self._workflow = AnalysisWorkflow(setup)

    async def __call__(self, ctx: JobContext, params: AnalysisInput) -> dict[str, Any]:
        """Optimize, analyze, and return what the job stores as its result."""
        await ctx.progress(0.1, "Optimizing the prompt")
        outcome = await self._workflow.run_job(ctx.owner_id, ctx.job_id, params)
        await ctx.progress(1.0, "Analysis complete")
        return outcome.as_dict()


def analysis_job_types(setup: AnalysisSetup) -> list[JobType]:
    """The job types of the analysis domain, for the composition root to register."""
    return [
        JobType(
            name=ANALYSIS_JOB,
            params=AnalysisInput,
            handler=AnalysisJobHandler(setup),
            max_attempts=3,
            timeout_seconds=600.0,
        )
    ]
