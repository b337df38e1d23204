"""switchboard's own API (`/switchboard/v1`): jobs, schedules, live events, stopping replies
and usage — what the five documented faces have no place for."""

from switchboard.faces.switchboard.router import build_router

__all__ = ["build_router"]
