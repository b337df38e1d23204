"""`POST /v1/chat/completions` and `POST /v1/embeddings`: the gateway's hot path.

Both are lean routes opened by `gateway_call` (see `faces.openai.gateway`): their
measured cost per request is why they skip FastAPI's body parsing and dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request, Response

from switchboard.api.admission import admitted_explicitly
from switchboard.api.bodies import before_parsing
from switchboard.api.draining import Tripped, draining_of, until_tripped
from switchboard.api.errors import face_route_class
from switchboard.api.lean import opened
from switchboard.api.openapi import STREAMS, UPSTREAM, raises
from switchboard.api.realtime.closing import close_source
from switchboard.api.realtime.slots import holding, stream_slots
from switchboard.api.responses import JSONResponse, StreamingResponse
from switchboard.core.conversations.errors import ShuttingDown
from switchboard.core.errors import ErrorKind
from switchboard.faces.openai import schemas, translate
from switchboard.faces.openai.errors import error_body, render_error
from switchboard.faces.openai.gateway import admission, caller, gateway_call

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
CHAT = admission("chat")
EMBEDDINGS = admission("embeddings")

router = APIRouter(
    prefix="/v1", tags=["openai"], route_class=face_route_class(render_error, lean=True)
)


@router.post(
    "/chat/completions",
    response_model=None,
    responses=STREAMS,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
)
@before_parsing(gateway_call(CHAT))
@admitted_explicitly(CHAT)
async def chat_completions(body: schemas.ChatCompletionRequest, request: Request) -> Response:
    """Create a chat completion, blocking or streamed (OpenAI's wire format)."""
    call = opened(request)
    completions = call.services.completions
    core_request = translate.chat_request(body)
    if body.stream:
        slot = stream_slots(request.app).acquire(call.principal.user_id)
        try:
            _, events = await completions.stream(caller(call), core_request)
        except BaseException:
            slot.release()
            raise
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        drained = until_tripped(events, draining_of(request.app))
        frames = translate.completion_chunks(body.model, drained, include_usage)
        chunks = _ending_on_shutdown(frames)
        return StreamingResponse(
            holding(chunks, slot), media_type="text/event-stream", headers=STREAM_HEADERS
        )
    _, result = await completions.complete(caller(call), core_request)
    return JSONResponse(translate.completion_body(body.model, result))


async def _ending_on_shutdown(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks; when the server shuts down mid-stream, an error chunk and `[DONE]`, so
    that clients see a failed completion rather than a cut connection."""
    try:
        async for chunk in chunks:
            yield chunk
    except Tripped:
        _, body = error_body(ShuttingDown())
        yield b"data: " + orjson.dumps(body) + b"\n\ndata: [DONE]\n\n"
    finally:
        await close_source(chunks)


@router.post(
    "/embeddings", response_model=None, openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM)
)
@before_parsing(gateway_call(EMBEDDINGS))
@admitted_explicitly(EMBEDDINGS)
async def embeddings(body: schemas.EmbeddingRequest, request: Request) -> Response:
    """Create embeddings."""
    call = opened(request)
    inputs = translate.embedding_inputs(body)
    _, result = await call.services.completions.embed(caller(call), body.model, inputs)
    return JSONResponse(translate.embedding_body(body.model, result, body.encoding_format))
