"""PocketLLM's request bodies (unknown fields are refused, so a typo is an error).

Field names are the document's (camelCase where it uses camelCase). Where the original
backend took another form, that form is accepted too and noted here.
Every string is bounded and may not contain NUL characters.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from switchboard.api.inputs import Credential
from switchboard.core.accounts.passwords import MIN_PASSWORD_LENGTH
from switchboard.core.agents.service import AGENTS

SUPPORTED_PROVIDERS = (
    "openai",
    "anthropic",
    "gemini",
    "ollama",
    "groq",
    "openrouter",
    "imagerouter",
    "mistral",
    "deepseek",
)
ProviderName = Literal[
    "openai",
    "anthropic",
    "gemini",
    "ollama",
    "groq",
    "openrouter",
    "imagerouter",
    "mistral",
    "deepseek",
]
MAX_JSON_BYTES = 16_384
EARLIEST_BIRTH = date(1900, 1, 1)
# What `_http_url` takes: nothing, or an http(s) URL (any case), without NUL.
HTTP_URL_OR_EMPTY = r"^([hH][tT][tT][pP][sS]?://[^\x00]*)?$"
# What the server takes as an email (after trimming): one `@`, no spaces or controls.
ACCOUNT_EMAIL = r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s\x00-\x1f\x7f-\x9f]{1,255}$"


def _past_years_date() -> str:
    """A birth date the server takes, as a pattern can say it: 1900 up to last year."""
    recent = "|".join(str(year) for year in range(2000, date.today().year))
    return rf"^(19\d\d|{recent})-\d\d-\d\d$"


PAST_DATE = _past_years_date()


def _walk(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key)
            _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        _walk(value)
        return value


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = orjson.dumps(value, default=str)
    except TypeError:  # orjson's refusal of an integer beyond 64 bits (no column holds one)
        raise ValueError("integers must fit in 64 bits") from None
    if len(encoded) > MAX_JSON_BYTES:
        raise ValueError(f"must be at most {MAX_JSON_BYTES} bytes as JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_json)]


def _http_url(value: str | None) -> str | None:
    if value is not None and value and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


# --- auth ------------------------------------------------------------------------------
class SignUp(_Strict):
    # The document states the account rules the server checks (`core.accounts.rules`).
    email: str = Field(min_length=3, max_length=320, json_schema_extra={"pattern": ACCOUNT_EMAIL})
    password: str = Field(
        min_length=1, max_length=1024, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH}
    )
    full_name: str | None = Field(default=None, max_length=200)
    username: str | None = Field(default=None, min_length=1, max_length=64)


class SignIn(_Strict):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Refresh(_Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


# --- profile ---------------------------------------------------------------------------
class ProfileUpdate(_Strict):
    full_name: str | None = Field(default=None, max_length=200)
    username: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"
    )
    bio: str | None = Field(default=None, max_length=2000)
    date_of_birth: date | None = Field(default=None, json_schema_extra={"pattern": PAST_DATE})
    profession: str | None = Field(default=None, max_length=200)
    avatar_url: str | None = Field(
        default=None, max_length=2048, json_schema_extra={"pattern": HTTP_URL_OR_EMPTY}
    )
    survey_completed: bool | None = None
    heard_from: str | None = Field(default=None, max_length=200)
    # Strict: a boolean is not an age (pydantic would read `false` as 0).
    age: int | None = Field(default=None, ge=0, le=150, strict=True)

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST_BIRTH <= value <= date.today():
            raise ValueError("must be a date between 1900-01-01 and today")
        return value

    @field_validator("avatar_url")
    @classmethod
    def _avatar(cls, value: str | None) -> str | None:
        return _http_url(value)


class OnboardingAnswers(_Strict):
    primary_goal: str | None = Field(default=None, max_length=2000)
    interests: list[str] | None = Field(default=None, max_length=50)
    experience_level: str | None = Field(default=None, max_length=100)
    usage_frequency: str | None = Field(default=None, max_length=100)
    other_notes: str | None = Field(default=None, max_length=5000)

    @field_validator("interests")
    @classmethod
    def _short_interests(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(len(item) > 200 for item in value):
            raise ValueError("each interest must be at most 200 characters")
        return value


class Onboarding(ProfileUpdate):
    onboarding: OnboardingAnswers | None = None


# --- chats -----------------------------------------------------------------------------
class ModelConfig(_Strict):
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    api_key: Credential | None = Field(default=None, alias="apiKey", min_length=1, max_length=1000)
    system_prompt: str | None = Field(default=None, alias="systemPrompt", max_length=20_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, alias="maxTokens", ge=1, le=1_000_000)


class ChatCreate(_Strict):
    title: str = Field(default="New Chat", min_length=1, max_length=200)
    config: ModelConfig | None = Field(default=None, alias="model_config")
    # The FastAPI backend's form: a saved model's id and a first message.
    model_config_id: str | None = Field(default=None, max_length=64)
    initial_message: str | None = Field(default=None, min_length=1, max_length=100_000)


class ChatUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    config: ModelConfig | None = Field(default=None, alias="model_config")


class MessageCreate(_Strict):
    content: str = Field(min_length=1, max_length=100_000)
    config: ModelConfig | None = Field(default=None, alias="model_config")
    stream: bool = False
    # The FastAPI backend's form: a role (only "user" can be sent) and metadata.
    role: Literal["user"] = "user"
    metadata: JsonObject | None = None


# --- jobs ------------------------------------------------------------------------------
class ImageJobInput(_Strict):
    prompt: str | None = Field(default=None, min_length=1, max_length=4000)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    size: str | None = Field(default=None, max_length=32)
    quality: str | None = Field(default=None, max_length=32)
    style: str | None = Field(default=None, max_length=32)
    n: int | None = Field(default=None, ge=1, le=10)
    provider: str | None = Field(default=None, min_length=1, max_length=64)


class ImageJobCreate(ImageJobInput):
    # The FastAPI backend's form: `{job_type, input_data: {...}, metadata}`.
    job_type: Literal["image_generation"] | None = None
    input_data: ImageJobInput | None = None
    metadata: JsonObject | None = None


class EstimateCost(_Strict):
    model: str = Field(min_length=1, max_length=100)
    size: str | None = Field(default=None, max_length=32)
    quality: str | None = Field(default=None, max_length=32)
    n: int | None = Field(default=None, ge=1, le=10)
    # The FastAPI backend's form: `dimensions: [w, h]` (and `steps`, which cost nothing here).
    dimensions: list[int] | None = Field(default=None, min_length=2, max_length=2)
    steps: int | None = Field(default=None, ge=1, le=1000)


# --- models and providers ----------------------------------------------------------------
class SharedSettings(_Strict):
    temperature: float | None = Field(default=None, ge=0, le=2)
    system_prompt: str | None = Field(default=None, alias="systemPrompt", max_length=20_000)
    max_tokens: int | None = Field(default=None, alias="maxTokens", ge=1, le=1_000_000)
    top_p: float | None = Field(default=None, alias="topP", ge=0, le=1)


class Selection(_Strict):
    id: str = Field(min_length=1, max_length=300)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class ImportModels(_Strict):
    provider: ProviderName
    provider_id: str | None = Field(default=None, alias="providerId", max_length=64)
    shared_settings: SharedSettings | None = Field(default=None, alias="sharedSettings")
    selections: list[Selection] = Field(min_length=1, max_length=100)


class Activate(_Strict):
    # Every provider but Ollama needs its key (the document says so too).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"provider": {"const": "ollama"}}},
                {"required": ["apiKey"], "properties": {"apiKey": {"type": "string"}}},
            ]
        }
    )

    provider: ProviderName
    api_key: Credential | None = Field(default=None, alias="apiKey", min_length=1, max_length=1000)
    base_url: str | None = Field(default=None, alias="baseUrl", min_length=1, max_length=2048)
    metadata: JsonObject | None = None
    display_name: str | None = Field(default=None, alias="displayName", max_length=200)


class ProviderPatch(_Strict):
    api_key: Credential | None = Field(default=None, alias="apiKey", min_length=1, max_length=1000)
    base_url: str | None = Field(default=None, alias="baseUrl", min_length=1, max_length=2048)
    metadata: JsonObject | None = None
    display_name: str | None = Field(default=None, alias="displayName", max_length=200)
    is_active: bool | None = Field(default=None, alias="isActive")


# --- prompt enhancer and agents ------------------------------------------------------------
class Improve(_Strict):
    prompt: str = Field(min_length=1, max_length=20_000)
    task: str = Field(default="general", min_length=1, max_length=64)
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    # switchboard's addition: which model enhances (default: see docs/faces/pocketllm.md).
    model: str | None = Field(default=None, min_length=1, max_length=300)


class AgentRun(_Strict):
    agent: str = Field(
        min_length=1, max_length=64, json_schema_extra={"enum": [a.name for a in AGENTS]}
    )
    prompt: str = Field(min_length=1, max_length=20_000)
    task: str | None = Field(default=None, min_length=1, max_length=64)
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    metadata: JsonObject | None = None
    model: str | None = Field(default=None, min_length=1, max_length=300)
