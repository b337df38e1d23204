"""`/v1/prompt-enhancer/improve` and `/v1/agents/*` (bare answers, as the document shows)."""

from __future__ import annotations

from fastapi import Response

from switchboard.api.admission import Admit
from switchboard.api.context import ServicesDep
from switchboard.api.openapi import UPSTREAM, raises
from switchboard.core.agents.service import AgentOptions
from switchboard.core.errors import ErrorKind
from switchboard.core.llm import ModelRef
from switchboard.faces.pocketllm import schemas
from switchboard.faces.pocketllm.auth import AUTH, PrincipalDep
from switchboard.faces.pocketllm.envelope import bare
from switchboard.faces.pocketllm.routes.common import admit, v1_router

# The document's enhancer model, used when the user can reach Groq.
ENHANCER_MODEL = ModelRef("groq", "openai/gpt-oss-120b")
AGENTS = AgentOptions(
    # Agent session memory: the user's conversations of this source, never listed as chats.
    memory_source="pocketllm-agent",
    preferred_model=ENHANCER_MODEL,
    image_next_step="POST /v1/jobs/image-generation with this prompt",
)
# The document's limit for the enhancer, which both routes that run it share: 10 requests
# per minute per user, counted apart from the face's default rate.
ENHANCER_LIMIT = Admit(AUTH, scope="chat", rule="10/minute", group="pocketllm-enhancer")

router = v1_router(admit("chat"))


@router.post(
    "/prompt-enhancer/improve",
    response_model=None,
    dependencies=[ENHANCER_LIMIT],
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def improve(
    body: schemas.Improve, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Enhance a prompt for its task."""
    result = await services.agents.enhance(
        principal.user_id,
        body.prompt,
        body.task,
        AGENTS,
        session_id=body.session_id,
        model=body.model,
    )
    return bare(
        {
            "task": result.task,
            "enhanced_prompt": result.enhanced_prompt,
            "guidance": result.guidance,
            "raw_response": result.raw_response,
        }
    )


@router.get("/agents/list", response_model=None)
async def list_agents(services: ServicesDep) -> Response:
    """The registered agents."""
    agents = [
        {"name": a.name, "description": a.description, "capabilities": list(a.capabilities)}
        for a in services.agents.agents()
    ]
    # Nothing is discovered from disk: switchboard runs no user-supplied components.
    return bare({"agents": agents, "discovered_components": {"agents": [], "tools": []}})


@router.post(
    "/agents/run",
    response_model=None,
    dependencies=[ENHANCER_LIMIT],
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
async def run_agent(
    body: schemas.AgentRun, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Run an agent; no code is ever executed and `metadata.tests` is ignored."""
    run = await services.agents.run(
        principal.user_id,
        body.agent,
        body.prompt,
        AGENTS,
        task=body.task,
        session_id=body.session_id,
        metadata=body.metadata,
        model=body.model,
    )
    return bare({"agent": run.agent, "output": run.output, "data": run.data})
