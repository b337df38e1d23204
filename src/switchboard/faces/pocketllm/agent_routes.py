"""`/v1/prompt-enhancer/improve` and `/v1/agents/*` (bare answers, as the document shows)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from switchboard.api.auth import PrincipalDep
from switchboard.api.context import ServicesDep
from switchboard.faces.pocketllm import schemas
from switchboard.faces.pocketllm.deps import SOURCE, admit
from switchboard.faces.pocketllm.envelope import bare

# The document's limit for the enhancer: 10 requests per minute per user.
ENHANCER_RATE = "10/minute"


def register(router: APIRouter) -> None:
    """Add the prompt enhancer and agent routes."""

    @router.post("/prompt-enhancer/improve", response_model=None)
    async def improve(
        body: schemas.Improve, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Enhance a prompt for its task."""
        await admit(request, services, principal, "chat")
        await services.ctx.limiter.check(
            request.scope, ENHANCER_RATE, SOURCE, "enhancer", principal.user_id
        )
        result = await services.agents.enhance(
            principal.user_id,
            body.prompt,
            body.task,
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
    async def list_agents(
        request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """The registered agents."""
        await admit(request, services, principal, "chat")
        agents = [
            {"name": a.name, "description": a.description, "capabilities": list(a.capabilities)}
            for a in services.agents.agents()
        ]
        # Nothing is discovered from disk: switchboard runs no user-supplied components.
        return bare({"agents": agents, "discovered_components": {"agents": [], "tools": []}})

    @router.post("/agents/run", response_model=None)
    async def run_agent(
        body: schemas.AgentRun, request: Request, principal: PrincipalDep, services: ServicesDep
    ) -> Response:
        """Run an agent; no code is ever executed and `metadata.tests` is ignored."""
        await admit(request, services, principal, "chat")
        await services.ctx.limiter.check(
            request.scope, ENHANCER_RATE, SOURCE, "enhancer", principal.user_id
        )
        run = await services.agents.run(
            principal.user_id,
            body.agent,
            body.prompt,
            task=body.task,
            session_id=body.session_id,
            metadata=body.metadata,
            model=body.model,
        )
        return bare({"agent": run.agent, "output": run.output, "data": run.data})
