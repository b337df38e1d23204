"""Core results → PluginMind's wire shapes (as the original backend sends them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.core.accounts.schemas import UserRead
from switchboard.core.analysis.schemas import (
    AnalysisInput,
    AnalysisOutcome,
    AnalysisType,
    QueryLogRead,
    QuotaRead,
    ServiceUsed,
)
from switchboard.core.analysis.service import ServiceHealth
from switchboard.core.jobs.schemas import JobRead, JobStatus
from switchboard.faces.pluginmind import schemas
from switchboard.faces.pluginmind.errors import analysis_error
from switchboard.kit.clock import iso_z

ASYNC_STARTED = "Analysis started. Use the job_id to check status."
CANCELLED_ERROR = "Analysis was cancelled"
DISPLAY_INPUT = 100
ENDPOINTS = {
    "legacy_crypto": "/analyze",
    "generic_processing": "/process",
    "async_processing": "/analyze-async",
}
# The original's job states; a running switchboard job is "processing".
_STATUS = {
    JobStatus.PENDING: "queued",
    JobStatus.RUNNING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
}


def analysis_input(body: schemas.AnalysisRequest) -> AnalysisInput:
    """The core request for `/process` and `/analyze-async` (explicit null → custom)."""
    return AnalysisInput(
        user_input=body.user_input, analysis_type=body.analysis_type or AnalysisType.CUSTOM
    )


def legacy_input(body: schemas.LegacyAnalyzeRequest) -> AnalysisInput:
    """The core request for `/analyze`: always crypto."""
    return AnalysisInput(user_input=body.user_input, analysis_type=AnalysisType.CRYPTO)


def process_body(outcome: AnalysisOutcome) -> dict[str, Any]:
    """`/process`'s answer."""
    return {
        "analysis_type": outcome.analysis_type.value,
        "optimized_prompt": outcome.optimized_prompt,
        "analysis_result": outcome.analysis_result,
        "system_prompt": outcome.system_prompt,
        "services_used": {
            "prompt_optimizer": _service(outcome.prompt_optimizer),
            "analyzer": _service(outcome.analyzer),
        },
        "metadata": dict(outcome.metadata),
    }


def legacy_body(outcome: AnalysisOutcome) -> dict[str, Any]:
    """`/analyze`'s answer."""
    return {"optimized_prompt": outcome.optimized_prompt, "analysis": outcome.analysis_result}


def async_created(job: JobRead) -> dict[str, Any]:
    """`/analyze-async`'s answer."""
    return {
        "job_id": job.id,
        "status": "queued",
        "created_at": iso_z(job.created_at),
        "message": ASYNC_STARTED,
    }


def async_status(job: JobRead) -> dict[str, Any]:
    """`GET /analyze-async/{job_id}`."""
    result = job.result or {}
    error = analysis_error(job.error_code, job.error)
    if job.status == JobStatus.CANCELLED:
        error = error or CANCELLED_ERROR
    return {
        "job_id": job.id,
        "status": _STATUS[job.status],
        "created_at": iso_z(job.created_at),
        "completed_at": _iso(job.finished_at),
        "optimized_prompt": result.get("optimized_prompt"),
        "analysis": result.get("analysis_result"),
        "error": error if job.status in (JobStatus.FAILED, JobStatus.CANCELLED) else None,
        "analysis_type": job.params.get("analysis_type"),
    }


def jobs_body(jobs: list[JobRead]) -> dict[str, Any]:
    """`GET /jobs`: a map of job id → summary, newest first."""
    return {
        "total_jobs": len(jobs),
        "jobs": {
            job.id: {
                "status": _STATUS[job.status],
                "created_at": iso_z(job.created_at),
                "completed_at": _iso(job.finished_at),
                "user_id": job.user_id,
                "has_error": job.error is not None or job.status == JobStatus.CANCELLED,
            }
            for job in jobs
        },
    }


def logs_body(logs: list[QueryLogRead]) -> dict[str, Any]:
    """`GET /query-logs`: inputs cut to 100 characters for display."""
    return {
        "total_logs": len(logs),
        "logs": [
            {
                "id": log.id,
                "user_id": log.user_id,
                "user_input": _truncate(log.user_input),
                "success": log.success,
                "response_time_ms": log.response_time_ms,
                "created_at": iso_z(log.created_at),
                "error_message": log.error_message,
                "analysis_type": log.analysis_type,
            }
            for log in logs
        ],
    }


def me_body(user: UserRead, google_sub: str | None) -> dict[str, Any]:
    """`GET /me`."""
    return {
        "id": user.id,
        "email": user.email,
        "google_id": google_sub,
        "subscription_tier": user.subscription_tier,
        "is_active": user.is_active,
        "created_at": iso_z(user.created_at),
    }


def usage_body(quota: QuotaRead) -> dict[str, Any]:
    """`GET /me/usage`."""
    return {
        "queries_used": quota.queries_used,
        "queries_limit": quota.queries_limit,
        "remaining_queries": quota.remaining_queries,
        "subscription_tier": quota.subscription_tier,
        "can_make_query": quota.can_make_query,
        "period": quota.period,
    }


def profile_user(user: UserRead, *, default_name: bool = False) -> dict[str, Any]:
    """The frontend's user object (`/users/profile` wraps it, `/auth/me` does not)."""
    name = user.full_name
    if name is None and default_name:
        name = user.email.split("@", 1)[0]
    return {
        "id": user.id,
        "email": user.email,
        "name": name,
        "picture": user.avatar_url,
        "role": "ADMIN" if user.is_admin else "USER",
        "subscription_tier": user.subscription_tier,
        "created_at": iso_z(user.created_at),
        "is_active": user.is_active,
    }


def services_body(registry: dict[str, Any], health: list[ServiceHealth]) -> dict[str, Any]:
    """`GET /services`: the registered services with their live health, and the types."""
    return {
        "ai_services": {h.name: _health_entry(h) for h in health},
        "analysis_types": {
            name: {"name": entry["name"], "description": entry["description"]}
            for name, entry in registry["analysis_types"].items()
        },
        "endpoints": dict(ENDPOINTS),
    }


def services_health_body(health: list[ServiceHealth], now: datetime) -> dict[str, Any]:
    """`GET /services/health`."""
    return {
        "timestamp": iso_z(now),
        "overall_healthy": all(h.healthy for h in health),
        "service_details": {h.name: _health_entry(h) for h in health},
    }


def _service(used: ServiceUsed) -> dict[str, str]:
    return {"name": used.name, "provider": used.provider, "model": used.model}


def _health_entry(health: ServiceHealth) -> dict[str, Any]:
    return {
        "name": health.name,
        "provider": health.provider,
        "model": health.model,
        "healthy": health.healthy,
        "error": health.error,
    }


def _truncate(text: str) -> str:
    return text if len(text) <= DISPLAY_INPUT else text[:DISPLAY_INPUT] + "..."


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_z(value)
