"""`GET /v1/models` (this face's part of the shared path) and `GET /v1/models/{id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard.api.admission import Admit
from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.responses import JSONResponse
from switchboard.api.shared_paths import SharedFragment
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.errors import Unauthenticated
from switchboard.faces.openai import translate
from switchboard.faces.openai.auth import AUTH
from switchboard.faces.openai.errors import render_error
from switchboard.faces.openai.gateway import GROUP

router = APIRouter(prefix="/v1", tags=["openai"], route_class=face_route_class(render_error))


@router.get(
    "/models/{provider}/{model:path}",
    response_model=None,
    dependencies=[Admit(AUTH, scope="models", rule="default", group=GROUP)],
)
async def retrieve_model(provider: str, model: str, services: ServicesDep) -> Response:
    """One model by its `provider/model` id; an unknown one is a 404 `model_not_found`."""
    ref = services.completions.resolve(f"{provider}/{model}")
    return JSONResponse(translate.model_object(str(ref), ref.provider))


async def models_payload(principal: Principal, services: Services) -> dict[str, Any]:
    """OpenAI's `list` of models: live catalogs plus operator aliases."""
    catalog = await services.catalog.models(principal.user_id)
    data = [translate.model_object(f"{m.provider}/{m.id}", m.provider) for m in catalog.models]
    data += [translate.model_object(alias, "switchboard") for alias in services.completions.aliases]
    return {"object": "list", "data": data}


async def _models_fields(
    request: Request, services: Services, principal: Principal | None
) -> dict[str, Any]:
    if principal is None:  # the shared route authenticates through AUTH first
        raise Unauthenticated(AUTH.missing, code=AUTH.missing_code)
    return await models_payload(principal, services)


MODELS = SharedFragment(
    path="/v1/models",
    keys=frozenset({"object", "data"}),
    build=_models_fields,
    chain=AUTH,
    scope="models",
)
"""`GET /v1/models`'s `object` and `data`, beside other faces' fields on the same path."""
