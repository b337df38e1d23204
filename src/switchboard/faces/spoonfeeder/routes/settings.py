"""Provider settings: one key per provider, masked, stored encrypted."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit(None))
