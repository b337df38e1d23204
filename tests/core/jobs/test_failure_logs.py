"""A failed job, a retry and work a sweep recovers each write one WARNING line naming the
job; an upstream failure inside a job names the job too (through the log context)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import BaseModel
from structlog.testing import capture_logs

from switchboard.adapters.providers.logged import LoggedProvider
from switchboard.core.errors import UpstreamUnavailable
from switchboard.core.jobs.context import JobContext
from switchboard.core.jobs.registry import JobType
from switchboard.core.jobs.runner import Outcome
from switchboard.core.llm import ChatMessage, ChatRequest
from switchboard.core.providers.ports import ProviderEndpoint
from tests.core.jobs.conftest import JobsEnv
from tests.fixtures.clock import ShiftedClock

CAPTURE = [structlog.contextvars.merge_contextvars]
KEY = "sk-operator-key-0123456789"


def warnings(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["log_level"] == "warning"]


class ModelParams(BaseModel):
    model: str


class BrokenUpstream:
    async def chat(self, request: ChatRequest) -> Any:
        raise UpstreamUnavailable("OpenAI failed (HTTP 504)", upstream_status=504)


async def calls_the_upstream(ctx: JobContext, params: ModelParams) -> dict[str, Any]:
    endpoint = ProviderEndpoint(kind="openai", provider="openai", api_key=KEY)
    provider = LoggedProvider(BrokenUpstream(), endpoint)  # type: ignore[arg-type]
    await provider.chat(ChatRequest(model=params.model, messages=[ChatMessage("user", "x")]))
    return {}


async def test_a_failed_job_logs_one_warning(jobs_env: JobsEnv) -> None:
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.flaky", {"failures": 1, "kind": "rejected"})
    with capture_logs() as logs:
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
    [line] = warnings(logs)
    assert line["event"] == "job_failed" and line["job_id"] == job.id
    assert (line["job_type"], line["code"]) == ("test.flaky", "bad_request")
    assert line["reason"] == "Upstream refused the request"


async def test_a_crashed_job_logs_one_warning_besides_its_traceback(jobs_env: JobsEnv) -> None:
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.crash", {})
    with capture_logs() as logs:
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
    [line] = warnings(logs)
    assert line["event"] == "job_failed" and line["code"] == "internal_error"
    assert "passwd" not in line["reason"]


async def test_a_retry_logs_one_warning(jobs_env: JobsEnv) -> None:
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.flaky", {"failures": 1})
    with capture_logs() as logs:
        assert await jobs_env.runner.run(job.id) == Outcome.RETRYING
    [line] = warnings(logs)
    assert line["event"] == "job_retrying" and line["job_id"] == job.id
    assert line["code"] == "upstream_unavailable" and line["reason"] == "Upstream is down"
    assert line["attempt"] == 1 and line["max_attempts"] == 3 and "delay_s" in line


async def test_an_upstream_failure_in_a_job_names_the_job(jobs_env: JobsEnv) -> None:
    jobs_env.registry.register(
        JobType("test.upstream", ModelParams, calls_the_upstream, max_attempts=1)
    )
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.upstream", {"model": "gpt-x"})
    with capture_logs(processors=CAPTURE) as logs:
        assert await jobs_env.runner.run(job.id) == Outcome.FAILED
    upstream, failed = warnings(logs)
    assert upstream["event"] == "upstream_failed" and upstream["job_id"] == job.id
    assert (upstream["provider"], upstream["model"]) == ("openai", "gpt-x")
    assert upstream["reason"] == "OpenAI failed (HTTP 504)"
    assert failed["event"] == "job_failed" and failed["model"] == "gpt-x"
    assert KEY not in str(logs)


async def test_a_sweep_that_recovers_a_job_logs_one_warning(
    jobs_env: JobsEnv, clock: ShiftedClock
) -> None:
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.echo", {"value": "orphan"})
    assert await jobs_env.leases.claim(job.id, "dead-worker/1", 1.0) is not None
    clock.advance(2.0)
    with capture_logs() as logs:
        assert (await jobs_env.sweeper().sweep()).reaped == 1
    [line] = warnings(logs)
    assert line["event"] == "job_lease_lapsed" and line["job_id"] == job.id
    assert (line["job_type"], line["now"], line["attempt"]) == ("test.echo", "pending", 1)


async def test_a_job_that_completes_logs_no_warning(jobs_env: JobsEnv) -> None:
    owner = await jobs_env.user()
    job = await jobs_env.create(owner, "test.echo", {"value": "fine"})
    with capture_logs() as logs:
        assert await jobs_env.runner.run(job.id) == Outcome.COMPLETED
    assert warnings(logs) == []
