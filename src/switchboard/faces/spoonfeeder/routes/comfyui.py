"""ComfyUI: options, sessions, workflows, generations, the image proxy.

Every route answers in the document's envelopes; ComfyUI unreachable (or not configured)
is 503 `PROVIDER_CONNECTION_ERROR`. A POST that submits work answers 201 with the
generation, `running` until its job finishes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from switchboard.api.context import ServicesDep
from switchboard.api.openapi import IMAGE_FILE, UPSTREAM, raises
from switchboard.core.comfy.schemas import GenerateInput, GenerationRead, SessionRead, WorkflowRead
from switchboard.core.container import Services
from switchboard.core.errors import ErrorKind
from switchboard.faces.spoonfeeder.auth import PrincipalDep
from switchboard.faces.spoonfeeder.comfyui_schemas import (
    ExecuteBody,
    PromptBody,
    SessionCreateBody,
    SessionUpdateBody,
    WorkflowCreateBody,
    WorkflowParametersBody,
    WorkflowUpdateBody,
)
from switchboard.faces.spoonfeeder.envelope import done, ok
from switchboard.faces.spoonfeeder.routes.common import admit, api_router

router = api_router(admit("images"))

# Submitting: a bad graph or option (400), ComfyUI away, refusing or slow (503), too
# many jobs queued (429).
SUBMITS = raises(ErrorKind.INVALID, ErrorKind.RATE_LIMITED, UPSTREAM)
SubFolder = Annotated[str, Query(max_length=255)]
OutputType = Annotated[str, Query(alias="type", max_length=16)]


Profiles = dict[str, tuple[str, str | None]]


async def _profiles(services: Services, owner_id: str) -> Profiles:
    """The caller's profiles' names and URLs by id, to name the profile of each session
    and workflow (an id that names no profile of theirs shows none)."""
    return {p.id: (p.name, p.url) for p in await services.profiles.list_profiles(owner_id)}


def _session(read: SessionRead, profiles: Profiles) -> dict[str, Any]:
    name, url = profiles.get(read.profile_id or "", (None, None))
    named = read.model_copy(update={"profile_name": name, "profile_url": url})
    exclude = {"generations"} if read.generations is None else None
    return named.model_dump(mode="json", exclude=exclude)


def _workflow(read: WorkflowRead, profiles: Profiles) -> dict[str, Any]:
    name = profiles.get(read.profile_id or "", (None, None))[0]
    exclude = {"workflow_json"} if read.workflow_json is None else None
    return read.model_copy(update={"profile_name": name}).model_dump(mode="json", exclude=exclude)


def _generation(read: GenerationRead) -> dict[str, Any]:
    return read.model_dump(mode="json")


@router.get("/comfyui/options", response_model=None, openapi_extra=raises(UPSTREAM))
async def options(services: ServicesDep) -> Response:
    """Samplers, schedulers, checkpoints and LoRAs from ComfyUI, and the usual sizes."""
    return ok((await services.comfy.options()).model_dump(mode="json"))


# -- sessions ----------------------------------------------------------------------------
@router.get("/comfyui/sessions", response_model=None)
async def list_sessions(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's sessions with their counts."""
    sessions = await services.comfy.list_sessions(principal.user_id)
    profiles = await _profiles(services, principal.user_id)
    return ok([_session(s, profiles) for s in sessions])


@router.post("/comfyui/sessions", response_model=None, status_code=201)
async def create_session(
    body: SessionCreateBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A new session (201)."""
    created = await services.comfy.create_session(principal.user_id, body.to_core())
    return ok(_session(created, await _profiles(services, principal.user_id)), 201)


@router.get("/comfyui/sessions/{session_id}", response_model=None)
async def get_session(session_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """The session with its most recent generations."""
    found = await services.comfy.get_session(principal.user_id, session_id)
    return ok(_session(found, await _profiles(services, principal.user_id)))


@router.put("/comfyui/sessions/{session_id}", response_model=None)
async def update_session(
    session_id: str, body: SessionUpdateBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Rename the session (or choose its current workflow)."""
    updated = await services.comfy.update_session(principal.user_id, session_id, body.to_core())
    return ok(_session(updated, await _profiles(services, principal.user_id)))


@router.delete("/comfyui/sessions/{session_id}", response_model=None)
async def delete_session(
    session_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the session, its generations and their images."""
    await services.comfy.delete_session(principal.user_id, session_id)
    return done("Session deleted")


@router.post(
    "/comfyui/sessions/{session_id}/generate",
    response_model=None,
    status_code=201,
    openapi_extra=SUBMITS,
)
async def generate(
    session_id: str, body: GenerateInput, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Submit a generation to ComfyUI; it runs in the background (201, `running`)."""
    generation = await services.comfy.generate(principal.user_id, session_id, body)
    return ok(_generation(generation), 201)


# -- workflows ---------------------------------------------------------------------------
@router.get("/comfyui/workflows", response_model=None)
async def list_workflows(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The caller's workflows (without their graphs)."""
    workflows = await services.comfy.list_workflows(principal.user_id)
    profiles = await _profiles(services, principal.user_id)
    return ok([_workflow(w, profiles) for w in workflows])


@router.post(
    "/comfyui/workflows",
    response_model=None,
    status_code=201,
    openapi_extra=raises(ErrorKind.INVALID),
)
async def create_workflow(
    body: WorkflowCreateBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Save a workflow with the parameters found in its graph (201)."""
    created = await services.comfy.create_workflow(principal.user_id, body.to_core())
    return ok(_workflow(created, await _profiles(services, principal.user_id)), 201)


@router.get("/comfyui/workflows/{workflow_id}", response_model=None)
async def get_workflow(
    workflow_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The workflow with its graph."""
    found = await services.comfy.get_workflow(principal.user_id, workflow_id)
    return ok(_workflow(found, await _profiles(services, principal.user_id)))


@router.put(
    "/comfyui/workflows/{workflow_id}", response_model=None, openapi_extra=raises(ErrorKind.INVALID)
)
async def update_workflow(
    workflow_id: str, body: WorkflowUpdateBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Rename, describe or replace the graph; answers with the updated workflow."""
    updated = await services.comfy.update_workflow(principal.user_id, workflow_id, body.to_core())
    return ok(_workflow(updated, await _profiles(services, principal.user_id)))


@router.patch("/comfyui/workflows/{workflow_id}/parameters", response_model=None)
async def update_workflow_parameters(
    workflow_id: str, body: WorkflowParametersBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Default parameters, and the one default workflow; answers with the workflow."""
    updated = await services.comfy.set_defaults(principal.user_id, workflow_id, body)
    return ok(_workflow(updated, await _profiles(services, principal.user_id)))


@router.delete("/comfyui/workflows/{workflow_id}", response_model=None)
async def delete_workflow(
    workflow_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the workflow (its generations stay)."""
    await services.comfy.delete_workflow(principal.user_id, workflow_id)
    return done("Workflow deleted")


@router.post(
    "/comfyui/workflows/{workflow_id}/execute",
    response_model=None,
    status_code=201,
    openapi_extra=SUBMITS,
)
async def execute_workflow(
    workflow_id: str, body: ExecuteBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Run the workflow outside any session (201, `running`)."""
    given = body.parameters
    generation = await services.comfy.execute(
        principal.user_id, workflow_id, given.generation(), given.prompt, given.negative_prompt
    )
    return ok(_generation(generation), 201)


@router.get("/comfyui/workflows/{workflow_id}/generations", response_model=None)
async def workflow_generations(
    workflow_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The workflow's most recent generations."""
    found = await services.comfy.workflow_generations(principal.user_id, workflow_id)
    return ok([_generation(g) for g in found])


# -- generations -------------------------------------------------------------------------
@router.get("/comfyui/generations/{generation_id}", response_model=None)
async def get_generation(
    generation_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """One generation with its outputs."""
    found = await services.comfy.get_generation(principal.user_id, generation_id)
    return ok(_generation(found))


@router.get("/comfyui/generations/{generation_id}/workflow", response_model=None)
async def generation_workflow(
    generation_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The exact graph the generation submitted."""
    snapshot = await services.comfy.generation_workflow(principal.user_id, generation_id)
    return ok(snapshot.model_dump(mode="json"))


@router.delete("/comfyui/generations/{generation_id}", response_model=None)
async def delete_generation(
    generation_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the generation and its images (stopping it if it runs)."""
    await services.comfy.delete_generation(principal.user_id, generation_id)
    return done("Generation deleted")


# -- images and the legacy submission ----------------------------------------------------
@router.get("/comfyui/image/{filename:path}", response_model=None, responses=IMAGE_FILE)
async def image(
    filename: str,
    principal: PrincipalDep,
    services: ServicesDep,
    subfolder: SubFolder = "",
    kind: OutputType = "output",
) -> Response:
    """An output image of the caller's generations, from switchboard's own storage."""
    download = await services.comfy.image(principal.user_id, filename, subfolder, kind)
    return Response(content=download.body, headers=download.headers)


@router.post(
    "/comfyui/prompt",
    response_model=None,
    status_code=201,
    openapi_extra=raises(ErrorKind.NOT_FOUND, ErrorKind.INVALID, ErrorKind.RATE_LIMITED, UPSTREAM),
)
async def submit_prompt(
    body: PromptBody, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Legacy: a text prompt (in `sessionId`'s session, if given) or a whole graph (201)."""
    generation = await services.comfy.submit_prompt(
        principal.user_id, body.sessionId, body.graph_or_text(), body.negativePrompt
    )
    return ok(_generation(generation), 201)
