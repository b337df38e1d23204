"""Provider profiles and their models."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit(None))
