"""A read-only view of the database, for the owner or an administrator."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit("admin"))
