"""Cron arithmetic for recurring jobs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter

from switchboard.core.errors import Invalid
from switchboard.kit.clock import as_utc


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first moment after `after` (UTC) that `cron`, read in `timezone`, names."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Unknown time zone '{timezone}'", param="timezone") from None
    if not croniter.is_valid(cron) or len(cron.split()) != 5:
        raise Invalid(f"'{cron}' is not a five-field cron expression", param="cron")
    try:
        local = croniter(cron, as_utc(after).astimezone(zone)).get_next(datetime)
    except (CroniterBadCronError, ValueError) as exc:
        raise Invalid(f"'{cron}' is not a valid cron expression", param="cron") from exc
    return as_utc(local)
