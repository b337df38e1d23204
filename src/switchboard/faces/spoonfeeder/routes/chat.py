"""`POST /api/chat`: one reply from a chosen provider, profile and model."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit("chat"))
