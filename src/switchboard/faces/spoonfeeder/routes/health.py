"""`GET /api/health`: the server and the services it depends on."""

from __future__ import annotations

from switchboard.faces.spoonfeeder.routes.common import api_router, public

router = api_router(public())
