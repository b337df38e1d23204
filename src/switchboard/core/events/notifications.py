"""Notifications: short messages for one user (`notification` on `user:{id}`), which
faces show as they are (Spoon Feeder's Socket.IO `notification` event).

Best effort: a notification only tells of something the user can also read elsewhere,
so a bus that is down is logged and never fails the work that caused it.
"""

from __future__ import annotations

from typing import Literal

import structlog

from switchboard.core.errors import SwitchboardError
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event, user_topic

log = structlog.get_logger(__name__)

NOTIFICATION = "notification"
Level = Literal["info", "success", "warning", "error"]


class Notifier:
    """Sends notifications over the bus."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def notify(self, user_id: str, message: str, *, level: Level = "info") -> None:
        """Tell `user_id` `message` (`level` says how to show it)."""
        data = {"type": level, "message": message}
        try:
            await self._bus.publish(Event(topic=user_topic(user_id), type=NOTIFICATION, data=data))
        except SwitchboardError as exc:
            log.warning("notification_not_published", error=exc.code)
