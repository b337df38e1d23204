"""`POST /v1/images/generations` (OpenAI's images API) and the files its URLs point to.

Images are generated while the client waits. `b64_json` returns the bytes and stores
nothing; `url` stores them as the caller's media and returns URLs under
`/v1/images/files/`, which answer only their owner (anyone else gets a 404) with the
stored raster type, `nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from switchboard.api.admission import Admit, admitted_explicitly
from switchboard.api.auth import PrincipalDep
from switchboard.api.bodies import before_parsing
from switchboard.api.context import ServicesDep
from switchboard.api.errors import face_route_class
from switchboard.api.lean import opened
from switchboard.api.openapi import IMAGE_FILE, UPSTREAM, raises
from switchboard.api.responses import JSONResponse
from switchboard.core.container import Services
from switchboard.core.errors import ErrorKind, NotFound
from switchboard.core.images.errors import InvalidImageModel
from switchboard.core.images.schemas import ImageSpec
from switchboard.faces.openai import schemas, translate
from switchboard.faces.openai.auth import AUTH
from switchboard.faces.openai.errors import MODEL_NOT_FOUND, render_error
from switchboard.faces.openai.gateway import GROUP, admission, caller, gateway_call

FILES_PATH = "/v1/images/files"
IMAGES = admission("images")

router = APIRouter(prefix="/v1", tags=["openai"], route_class=face_route_class(render_error))


@before_parsing(gateway_call(IMAGES))
@admitted_explicitly(IMAGES)
async def create_images(body: schemas.ImageGenerationRequest, request: Request) -> Response:
    """Generate images from a prompt; `model` may name a provider (`echo/dall-e-2`)."""
    call = opened(request)
    ref = call.services.completions.resolve(body.model)
    spec = _spec(call.services, ref.model, body)
    generation = call.services.image_generation
    payloads = await generation.generate(caller(call), ref.provider, spec, body.prompt)
    if translate.image_format(body, spec.model) == "b64_json":
        return JSONResponse(translate.b64_images(payloads))
    stored = await generation.keep(call.principal.user_id, payloads)
    base_url = str(request.base_url).rstrip("/") + FILES_PATH
    return JSONResponse(translate.url_images(stored, base_url))


def _spec(services: Services, model: str, body: schemas.ImageGenerationRequest) -> ImageSpec:
    """The request checked against the image pricing table, defaults filled in."""
    try:
        return services.images.validate(
            model,
            translate.image_option(body.size),
            translate.image_option(body.quality),
            body.n,
            body.style,
        )
    except InvalidImageModel:
        raise NotFound(
            f"The model '{body.model}' does not exist or cannot generate images.",
            code=MODEL_NOT_FOUND,
            param="model",
        ) from None


# A lean route (body parsed after authentication), like the gateway's chat route.
router.add_api_route(
    "/images/generations",
    create_images,
    methods=["POST"],
    response_model=None,
    openapi_extra=raises(ErrorKind.NOT_FOUND, UPSTREAM),
    route_class_override=face_route_class(render_error, lean=True),
)


@router.get(
    "/images/files/{media_id}",
    response_model=None,
    responses=IMAGE_FILE,
    dependencies=[Admit(AUTH, scope="images", rule="default", group=GROUP)],
)
async def image_file(
    media_id: Annotated[str, Path(max_length=64)], principal: PrincipalDep, services: ServicesDep
) -> Response:
    """An image this caller generated with `response_format: "url"` (404 for anyone else)."""
    download = await services.media.download(principal.user_id, media_id)
    return Response(content=download.body, headers=download.headers)
