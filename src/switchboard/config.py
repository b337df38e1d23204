"""Settings: the one place that reads the environment.

Only the composition root (app, bootstrap, cli, worker) imports this module; everything
else receives plain values or services built from it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from switchboard.kit.loopback import listens_on_loopback_only


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob an operator can turn (README.md lists them)."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Path("~/.switchboard")
    # Where generated images and other media files live; default: <data_dir>/media.
    media_dir: Path | None = None
    database_url: str | None = None
    redis_url: str | None = None
    # Namespaces every Redis key, stream and channel, so deployments can share one Redis;
    # unset means one derived from the database URL (`resolved_redis_prefix`).
    redis_prefix: str | None = None
    secret_key: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The faces to mount, comma-separated; unset means every face this build serves
    # (`switchboard.registry.FACES` checks the names at start).
    faces: Annotated[list[str] | None, NoDecode] = None
    local_trust: Literal["auto", "on", "off"] = "auto"
    owner_email: str = "owner@localhost"
    # Where `switchboard serve` listens (it sets this for the serving process); local
    # trust in "auto" is on only while this is a loopback address.
    listen_host: str | None = None

    # "production" hardens the defaults: no local trust, an explicit secret key, no /docs
    # unless asked for (docs/operations.md).
    env: Literal["development", "production"] = "development"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    # One INFO line per request ("request": method, path, status, ms). Off saves ~25 µs
    # of CPU per request; request metrics and error logs are unaffected.
    access_log: bool = True
    max_body_bytes: int = 1_048_576
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_days: int = 30
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_default: str = "600/minute"
    rate_limit_auth: str = "20/minute"
    # "alias=provider/model" pairs, e.g. "fast=groq/llama-3.1-8b-instant,smart=openai/gpt-4o"
    model_aliases: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Let users point provider connections at private or loopback hosts (e.g. a LAN Ollama).
    allow_private_upstreams: bool = False
    # Spoon Feeder's read-only database view (`/api/database/*`) for the owner and
    # administrators even when the server does not listen on loopback only.
    database_api: bool = False
    # host:port pairs users may reach even though they are private (e.g. "10.0.0.5:11434").
    outbound_exemptions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    upstream_timeout_seconds: float = 120.0
    upstream_connect_timeout_seconds: float = 10.0
    usage_flush_interval_seconds: float = 0.5
    # Used when a conversation or request names no model.
    default_model: str = "echo/echo"
    # PocketLLM's documented switch for the Swagger UI at /docs (and /api/docs); unset
    # means on in development, off in production (`docs_enabled`).
    enable_swagger_docs: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("ENABLE_SWAGGER_DOCS", "SWITCHBOARD_ENABLE_SWAGGER_DOCS"),
    )

    # Jobs. Without Redis they run inside `switchboard serve`; with Redis, in
    # `switchboard worker` processes ("on" also runs them in the server, "off" never).
    jobs_in_process: Literal["auto", "on", "off"] = "auto"
    job_concurrency: int = Field(default=16, ge=1, le=1000)
    # A running job's lease: renewed every third of it; a worker silent for longer is
    # taken to be dead and its job is retried elsewhere.
    job_lease_seconds: float = Field(default=30.0, gt=0)
    # Redis: a message unacknowledged this long is redelivered to another worker.
    job_redelivery_seconds: float = Field(default=60.0, gt=0)
    # Workers write a heartbeat to Redis this often; health reports `workers: none` when
    # no heartbeat is younger than three of these.
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    job_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    # A due pending job not started after this long has lost its message: queue it again.
    job_stale_after_seconds: float = Field(default=30.0, gt=0)
    job_retry_base_seconds: float = Field(default=2.0, ge=0)
    job_retry_max_seconds: float = Field(default=300.0, ge=0)
    # On shutdown running jobs get this long to finish before they are handed back.
    job_shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # Extra modules with `register(registry)` adding job types (plugins; tests use
    # `tests.fixtures.jobs`). Comma-separated.
    extra_task_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Caps on one user's work (0 turns a cap off). Defaults a user never meets in normal use.
    max_streams_per_user: int = Field(default=32, ge=0)
    max_queued_jobs_per_user: int = Field(default=200, ge=0)
    max_schedules_per_user: int = Field(default=20, ge=0)
    # The native face's per-user limit (limits notation, e.g. "600/minute").
    switchboard_rate_limit: str = "600/minute"

    # HTTP server limits, enforced whatever HTTP implementation uvicorn picks.
    http_max_header_bytes: int = Field(default=65_536, ge=1024)
    http_max_headers: int = Field(default=100, ge=1)
    # Seconds a client has to send a request's headers (slowloris), and an idle
    # keep-alive connection is kept.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_keepalive_timeout_seconds: float = Field(default=5.0, gt=0)
    # Open connections one process accepts; beyond it new ones are answered 503.
    max_connections: int = Field(default=8192, ge=1)
    # Addresses (IPs or CIDRs) of reverse proxies whose X-Forwarded-* headers are believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Bearer token for GET /metrics; unset means /metrics answers loopback clients only.
    metrics_token: str | None = None

    # Replies: text so far is saved this often while a reply streams, so a crash keeps it.
    stream_flush_interval_seconds: float = Field(default=1.0, gt=0)
    stream_flush_bytes: int = Field(default=2048, ge=1)
    # On SIGTERM open streams are ended with a terminal event within this many seconds.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    # Operator provider credentials: read without the SWITCHBOARD_ prefix, as vendors name them.
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    anthropic_api_key: str | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    gemini_api_key: str | None = Field(default=None, validation_alias="GEMINI_API_KEY")
    gemini_base_url: str | None = Field(default=None, validation_alias="GEMINI_BASE_URL")
    groq_api_key: str | None = Field(default=None, validation_alias="GROQ_API_KEY")
    openrouter_api_key: str | None = Field(default=None, validation_alias="OPENROUTER_API_KEY")
    ollama_url: str | None = Field(default=None, validation_alias="OLLAMA_URL")
    # The operator's ComfyUI server (a workflow engine, trusted like OLLAMA_URL).
    comfyui_url: str | None = Field(default=None, validation_alias="COMFYUI_URL")

    # External ID-token issuers (core/accounts/oidc.py; docs/operations.md). Google signs
    # PluginMind users in; unset client id means Google sign-in is refused.
    google_client_id: str | None = None
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    google_issuers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["https://accounts.google.com", "accounts.google.com"]
    )
    google_jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    # Domains whose addresses Google is authoritative for besides gmail.com and a token's
    # matching `hd` claim (a Workspace domain): only those link to an existing account.
    google_email_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Another issuer (an Auth0-style tenant) whose JWTs the cloudtolocal face accepts:
    # set all three or none.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    # The algorithms its keys may sign with: RS256 and/or ES256, comma-separated.
    oidc_algorithms: Annotated[list[Literal["RS256", "ES256"]], NoDecode] = Field(
        default=["RS256"], min_length=1
    )
    # Domains whose addresses it owns: only there does its verified e-mail link a new
    # subject to an existing account with that address. Comma-separated; none by default.
    oidc_email_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    oidc_jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    # Seconds of clock difference tolerated on `exp`/`iat`/`nbf`, for every issuer.
    oidc_clock_skew_seconds: int = Field(default=0, ge=0, le=300)

    _split_oidc = field_validator(
        "oidc_algorithms", "oidc_email_domains", "google_email_domains", mode="before"
    )(_split_csv)

    # PluginMind analyses (`/process`, `/analyze`, `/analyze-async`): `provider/model` of
    # each step; unset means the operator's configured provider, else `default_model`.
    analysis_optimizer_model: str | None = None
    analysis_model: str | None = None
    # Per-type analyzer overrides: "crypto=groq/llama-3.3-70b-versatile,seo=openai/gpt-4o".
    analysis_models: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Analyses a month per subscription tier (counted when the call is made). The free
    # tier's is every account's default; the owner is unlimited unless given a quota.
    default_monthly_quota: int = Field(default=10, ge=0)
    analysis_pro_query_limit: int = Field(default=1000, ge=0)
    analysis_premium_query_limit: int = Field(default=10000, ge=0)
    # Per user (per IP before sign-in) on /process, /analyze, /analyze-async, /auth/google.
    pluginmind_rate_limit: str = "120/2 minutes"
    # The pm_session cookie's Secure flag: unset means "when the request is HTTPS".
    pluginmind_cookie_secure: bool | None = None
    pluginmind_cookie_domain: str | None = None
    # The commit this build came from (`GET /version`); GIT_SHA is read too.
    git_sha: str | None = Field(
        default=None, validation_alias=AliasChoices("SWITCHBOARD_GIT_SHA", "GIT_SHA", "git_sha")
    )

    _split = field_validator(
        "secret_key",
        "faces",
        "cors_origins",
        "google_issuers",
        "outbound_exemptions",
        "extra_task_modules",
        "trusted_proxies",
        mode="before",
    )(_split_csv)

    @field_validator("model_aliases", "analysis_models", mode="before")
    @classmethod
    def _parse_aliases(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
            return {alias.strip(): target.strip() for alias, target in pairs}
        return value

    @property
    def local_trust_enabled(self) -> bool:
        """Whether loopback clients without credentials may act as the owner: never in
        production ("on" is refused at start there, `bootstrap.check_settings`)."""
        if self.env == "production":
            return False
        if self.local_trust == "auto":
            return listens_on_loopback_only(self.listen_host)
        return self.local_trust == "on"

    @property
    def docs_enabled(self) -> bool:
        """Whether /docs is served: as set, else only outside production."""
        if self.enable_swagger_docs is not None:
            return self.enable_swagger_docs
        return self.env != "production"

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory with `~` expanded."""
        return self.data_dir.expanduser()

    @property
    def resolved_media_dir(self) -> Path:
        """The media directory with `~` expanded (under the data directory by default)."""
        if self.media_dir is not None:
            return self.media_dir.expanduser()
        return self.resolved_data_dir / "media"

    @property
    def resolved_redis_prefix(self) -> str:
        """The Redis namespace: as set, else `switchboard` plus a digest of where the
        database is (host, port, name; never the password), so two deployments sharing
        one Redis stay apart while every replica of one agrees."""
        if self.redis_prefix:
            return self.redis_prefix
        if not self.database_url:
            return "switchboard"
        url = make_url(self.database_url)
        where = f"{url.host or ''}:{url.port or ''}/{url.database or ''}"
        return f"switchboard:{hashlib.sha256(where.encode()).hexdigest()[:8]}"

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.resolved_data_dir / 'switchboard.db'}"
