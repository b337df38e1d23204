"""Job metrics in Prometheus: queue depth, jobs by status, durations and retries."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from switchboard.core.jobs.schemas import JobStatus

JOB_DURATION = Histogram(
    "switchboard_job_duration_seconds",
    "Time from claim to outcome, by job type and outcome",
    ["type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
JOB_RETRIES = Counter("switchboard_job_retries_total", "Executions that failed retryably", ["type"])
JOBS_BY_STATUS = Gauge("switchboard_jobs", "Jobs by status, at the last sweep", ["status"])
QUEUE_DEPTH = Gauge("switchboard_job_queue_depth", "Job messages waiting to be delivered")


class PrometheusJobObserver:
    """A `JobObserver` writing to the process's Prometheus registry."""

    def job_finished(self, job_type: str, outcome: str, seconds: float) -> None:
        """Observe one execution's duration."""
        if outcome != "skipped":
            JOB_DURATION.labels(job_type, outcome).observe(seconds)

    def job_retried(self, job_type: str) -> None:
        """Count one retry."""
        JOB_RETRIES.labels(job_type).inc()

    def jobs_by_status(self, counts: dict[str, int]) -> None:
        """Set the per-status gauge (statuses with no jobs read 0)."""
        for status in JobStatus:
            JOBS_BY_STATUS.labels(status.value).set(counts.get(status.value, 0))

    def queue_depth(self, depth: int | None) -> None:
        """Set the queue depth gauge when the transport could tell."""
        if depth is not None:
            QUEUE_DEPTH.set(depth)
