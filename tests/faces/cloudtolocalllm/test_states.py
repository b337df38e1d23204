"""How the app's health report becomes the document's statuses."""

from __future__ import annotations

import pytest

from switchboard.core.ops.health import CheckResult, HealthReport, Status
from switchboard.faces.cloudtolocalllm.routes.health import overall, service_states


def report(status: Status, *failing: str, extra: tuple[str, ...] = ()) -> HealthReport:
    names = ("database", *extra, *failing)
    checks = [CheckResult(name, name not in failing, name == "database", 1.0) for name in names]
    return HealthReport(status, checks)


@pytest.mark.parametrize(
    ("status", "expected"), [("ok", "healthy"), ("degraded", "degraded"), ("down", "unhealthy")]
)
def test_the_verdict_is_the_reports(status: Status, expected: str) -> None:
    checked = report(status)
    assert overall(checked, service_states(checked, draining=False)) == expected


def test_the_database_away_takes_auth_with_it() -> None:
    checked = report("down", "database")

    states = service_states(checked, draining=False)

    assert states == {
        "api": "healthy",
        "database": "unhealthy",
        "auth": "unhealthy",
        "streaming": "healthy",
    }
    assert overall(checked, states) == "unhealthy"


def test_the_event_bus_away_degrades_streaming() -> None:
    checked = report("degraded", "event_bus", extra=("redis",))

    states = service_states(checked, draining=False)

    assert states["streaming"] == "degraded"
    assert states["database"] == "healthy"
    assert overall(checked, states) == "degraded"


def test_a_server_shutting_down_is_unhealthy() -> None:
    checked = report("ok")

    states = service_states(checked, draining=True)

    assert states["api"] == "unhealthy"
    assert overall(checked, states) == "unhealthy"
