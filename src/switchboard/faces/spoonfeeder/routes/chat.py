"""`POST /api/chat`: one reply from a chosen provider, profile and model.

Stateless, on the gateway's path (`CompletionService`, as the OpenAI face's chat
completions): nothing is stored but usage. A `profileId` names one of the caller's
profiles (a provider connection of its own): its key and URL serve the call.
Model omitted: the profile's `options.model`, else its first model, else the provider
settings' default model, else the first model the provider lists.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from switchboard.api.admission import Admission, admitted_explicitly
from switchboard.api.bodies import before_parsing
from switchboard.api.errors import face_route_class
from switchboard.api.lean import lean_call, opened
from switchboard.api.openapi import UPSTREAM, raises
from switchboard.core.accounts.principal import Principal
from switchboard.core.container import Services
from switchboard.core.conversations.completions import Caller
from switchboard.core.errors import ErrorKind, Invalid
from switchboard.core.llm import ChatRequest
from switchboard.core.profiles.schemas import Profile
from switchboard.faces.spoonfeeder import chat_schemas as schemas
from switchboard.faces.spoonfeeder.auth import CHAIN, SOURCE
from switchboard.faces.spoonfeeder.envelope import ok
from switchboard.faces.spoonfeeder.errors import render_error
from switchboard.faces.spoonfeeder.settings_schemas import DEFAULT_MODEL, provider_name, wire_name

# What `admit("chat")` declares, checked by the route's opening (`api.lean`).
ADMISSION = Admission(scope="chat", rule="default", group=SOURCE)

# A lean route (`api.bodies`): the body is parsed in one pass, without FastAPI's
# dependency solving, as the OpenAI face's chat completions.
router = APIRouter(
    prefix="/api", tags=["spoonfeeder"], route_class=face_route_class(render_error, lean=True)
)


@router.post("/chat", response_model=None, openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM))
@before_parsing(lean_call(CHAIN.require, ADMISSION))
@admitted_explicitly(ADMISSION)
async def chat(body: schemas.ChatBody, request: Request) -> Response:
    """The provider's reply to `messages`: `{response, provider, model, usage}`."""
    call = opened(request)
    services, principal = call.services, call.principal
    owner = principal.user_id
    provider = provider_name(body.provider)
    profile = None
    if body.profile_id is not None:
        profile = await _profile(services, owner, body.profile_id, provider)
    model = body.model or await _default_model(services, owner, provider, profile)
    core_request = ChatRequest(model=f"{provider}/{model}", messages=body.core_messages())
    ref, result = await services.completions.complete(
        _caller(principal), core_request, connection_id=profile.id if profile else None
    )
    return ok(schemas.chat_answer(wire_name(provider), ref.model, result))


def _caller(principal: Principal) -> Caller:
    return Caller(user_id=principal.user_id, source=SOURCE, api_key_id=principal.api_key_id)


async def _profile(services: Services, owner: str, profile_id: str, provider: str) -> Profile:
    """The caller's profile, which must serve `provider` (anyone else's is not found)."""
    profile = await services.profiles.get(owner, profile_id)
    if profile.provider != wire_name(provider):
        raise Invalid(
            f"Profile {profile_id} is a {profile.provider} profile, not {wire_name(provider)}",
            param="profileId",
        )
    return profile


async def _default_model(
    services: Services, owner: str, provider: str, profile: Profile | None
) -> str:
    """The model used when the request names none (see the module docstring)."""
    if profile is not None:
        chosen = profile.options.get("model")
        if isinstance(chosen, str) and chosen:
            return chosen
        if profile.models:
            return profile.models[0].model_id
    else:
        saved = await services.providers.get_connection(owner, provider)
        default = saved.settings.get(DEFAULT_MODEL) if saved and saved.is_active else None
        if isinstance(default, str) and default:
            return default
    chat_provider = await services.providers.provider_for(
        owner, provider, connection_id=profile.id if profile else None
    )
    listed = await chat_provider.list_models()
    if not listed:
        raise Invalid(f"{wire_name(provider)} lists no models: name one", param="model")
    return listed[0].id
