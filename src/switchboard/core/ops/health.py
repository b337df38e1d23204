"""Health checks that every face presents in its own shape."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Check = Callable[[], Awaitable[None]]
Status = Literal["ok", "degraded", "down"]


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

    @property
    def ready(self) -> bool:
        """Ready to serve: every required dependency answers."""
        return self.status != "down"

    @property
    def down(self) -> list[str]:
        """The names of the dependencies that do not answer (what readiness reports)."""
        return [check.name for check in self.checks if not check.ok]


class HealthChecker:
    """Runs named checks concurrently, each with a timeout.

    A failed required check (the database) makes the service `down`; a failed optional
    one (Redis, which has a fallback) makes it `degraded`.
    """

    def __init__(
        self,
        required: Mapping[str, Check],
        optional: Mapping[str, Check],
        providers: Callable[[], list[str]],
        timeout: float = 2.0,
    ) -> None:
        self._required = dict(required)
        self._optional = dict(optional)
        self._providers = providers
        self._timeout = timeout

    async def report(self) -> HealthReport:
        """Check everything now."""
        runs = [self._run(name, check, True) for name, check in self._required.items()]
        runs += [self._run(name, check, False) for name, check in self._optional.items()]
        results = list(await asyncio.gather(*runs))
        if any(not r.ok and r.required for r in results):
            status: Status = "down"
        elif any(not r.ok for r in results):
            status = "degraded"
        else:
            status = "ok"
        return HealthReport(status, results, self._providers())

    async def _run(self, name: str, check: Check, required: bool) -> CheckResult:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), timeout=self._timeout)
        except TimeoutError:
            return CheckResult(name, False, required, _ms(started), "timed out")
        except (OSError, ConnectionError, RuntimeError) as exc:
            return CheckResult(name, False, required, _ms(started), _describe(exc))
        return CheckResult(name, True, required, _ms(started))


def _describe(exc: BaseException) -> str:
    # A check says what is down with a plain ConnectionError of its own words ("database
    # unreachable"); anything else may carry addresses, so only its type is shown.
    if type(exc) is ConnectionError and exc.args:
        return str(exc)
    return type(exc).__name__


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
