"""Health checks that every face presents in its own shape."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from switchboard.core.jobs.workers import WorkerStatus

Check = Callable[[], Awaitable[None]]
WorkersProbe = Callable[[], Awaitable[WorkerStatus]]
Status = Literal["ok", "degraded", "down"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One dependency's state; `error` is a short, secret-free description."""

    name: str
    ok: bool
    required: bool
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """All checks, and the overall verdict."""

    status: Status
    checks: list[CheckResult]
    providers: list[str] = field(default_factory=list)
    # Job workers alive (with Redis only; None without, or when they could not be read).
    workers: WorkerStatus | None = None

    @property
    def ready(self) -> bool:
        """Ready to serve: every required dependency answers."""
        return self.status != "down"

    @property
    def down(self) -> list[str]:
        """The names of the dependencies that do not answer (what readiness reports)."""
        return [check.name for check in self.checks if not check.ok]

    def check(self, name: str) -> CheckResult | None:
        """The result of the check called `name`, if it ran."""
        return next((check for check in self.checks if check.name == name), None)


class HealthChecker:
    """Runs named checks concurrently, each with a timeout.

    A failed required check (the database) makes the service `down`; a failed optional
    one (Redis, which has a fallback) makes it `degraded`. With `workers` (Redis set),
    the optional check `workers` fails when no job worker is alive: jobs wait, the API
    still serves, so that is `degraded` too.
    """

    def __init__(
        self,
        required: Mapping[str, Check],
        optional: Mapping[str, Check],
        providers: Callable[[], list[str]],
        timeout: float = 2.0,
        workers: WorkersProbe | None = None,
    ) -> None:
        self._required = dict(required)
        self._optional = dict(optional)
        self._providers = providers
        self._timeout = timeout
        self._workers = workers

    async def report(self) -> HealthReport:
        """Check everything now."""
        runs = [self._run(name, check, True) for name, check in self._required.items()]
        runs += [self._run(name, check, False) for name, check in self._optional.items()]
        results, (workers_result, workers) = await asyncio.gather(
            asyncio.gather(*runs), self._run_workers()
        )
        if workers_result is not None:
            results.append(workers_result)
        if any(not r.ok and r.required for r in results):
            status: Status = "down"
        elif any(not r.ok for r in results):
            status = "degraded"
        else:
            status = "ok"
        return HealthReport(status, results, self._providers(), workers)

    async def _run(self, name: str, check: Check, required: bool) -> CheckResult:
        result, _ = await self._timed(name, check, required)
        return result

    async def _run_workers(self) -> tuple[CheckResult | None, WorkerStatus | None]:
        if self._workers is None:
            return None, None
        result, workers = await self._timed("workers", self._workers, False)
        if workers is not None and workers.problem is not None:
            result = dataclasses.replace(result, ok=False, error=workers.problem)
        return result, workers

    async def _timed(
        self, name: str, check: Callable[[], Awaitable[_T]], required: bool
    ) -> tuple[CheckResult, _T | None]:
        started = time.perf_counter()
        try:
            value = await asyncio.wait_for(check(), timeout=self._timeout)
        except TimeoutError:
            return CheckResult(name, False, required, _ms(started), "timed out"), None
        except (OSError, ConnectionError, RuntimeError) as exc:
            return CheckResult(name, False, required, _ms(started), _describe(exc)), None
        return CheckResult(name, True, required, _ms(started)), value


def _describe(exc: BaseException) -> str:
    # A check says what is down with a plain ConnectionError of its own words ("database
    # unreachable"); anything else may carry addresses, so only its type is shown.
    if type(exc) is ConnectionError and exc.args:
        return str(exc)
    return type(exc).__name__


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
