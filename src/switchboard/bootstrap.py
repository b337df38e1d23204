"""The composition root: reads Settings, prepares the data directory, picks adapters."""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from switchboard import __version__
from switchboard.adapters.bridge import MemoryBridgeRelay
from switchboard.adapters.bus.memory import MemoryBus
from switchboard.adapters.http.clients import OutboundClients
from switchboard.adapters.http.jwks import JwksFetcher
from switchboard.adapters.providers.logged import LoggedProviderFactory
from switchboard.adapters.queue.memory import InMemoryJobQueue
from switchboard.adapters.queue.metrics import PrometheusJobObserver
from switchboard.adapters.ratelimit import LimitsRateLimiter
from switchboard.adapters.storage import LocalMediaStorage, SafeImageFetcher
from switchboard.adapters.workflows.comfyui import ComfyUIEngine
from switchboard.config import Settings
from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.google import google_issuer
from switchboard.core.accounts.oidc import OIDC, IdTokenVerifier, IssuerConfig, KeyFetcher
from switchboard.core.accounts.schemas import UserRead
from switchboard.core.accounts.tokens import MIN_SECRET_LENGTH, TokenSigner
from switchboard.core.analysis.service import (
    AnalysisModels,
    AnalysisSetup,
    QuotaLimits,
    default_analysis_model,
)
from switchboard.core.analysis.tasks import analysis_job_types
from switchboard.core.catalog.models import ModelResolver
from switchboard.core.catalog.service import CatalogCache
from switchboard.core.comfy.repository import ComfyRepository
from switchboard.core.comfy.tasks import comfy_job_types
from switchboard.core.container import AppContext, AppOptions, Services
from switchboard.core.conversations.active import ActiveReplies
from switchboard.core.conversations.lease_repository import StreamingRows
from switchboard.core.conversations.leases import ReplyLeases, StreamPersistence
from switchboard.core.conversations.repository import ConversationRepository
from switchboard.core.conversations.runner import ReplyRunner
from switchboard.core.errors import Conflict, SwitchboardError
from switchboard.core.events.access import OwnerResolver, OwnershipRegistry, TopicAccess
from switchboard.core.events.ports import EventBus
from switchboard.core.images.tasks import image_job_types
from switchboard.core.jobs.context import UnitOfWorkFactory
from switchboard.core.jobs.leases import JobLeases
from switchboard.core.jobs.ports import JobTransport
from switchboard.core.jobs.registry import JobRegistry
from switchboard.core.jobs.repository import JobRepository
from switchboard.core.jobs.runner import JobRunner, RunnerOptions
from switchboard.core.jobs.runtime import JobRuntime
from switchboard.core.jobs.service import JobSetup
from switchboard.core.jobs.sweeper import JobSweeper, SweepOptions
from switchboard.core.jobs.workers import WorkerWatch
from switchboard.core.ops.health import Check, HealthChecker
from switchboard.core.providers.known import KNOWN_PROVIDERS
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.providers.service import ProviderSetup
from switchboard.core.purge import AccountPurge
from switchboard.core.tasks.tasks import task_job_types
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.core.usage.repository import UsageRepository
from switchboard.kit.crypto import SecretBox
from switchboard.kit.db import create_engine, session_factory, unit_of_work
from switchboard.kit.ids import canonical_id
from switchboard.kit.origins import parse_origins

SECRET_KEY_FILE = "secret_key"


class ConfigError(RuntimeError):
    """The settings cannot make a safe server."""


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data directory (mode 0700) if needed and return it."""
    data_dir = settings.resolved_data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return data_dir


def secret_keys(settings: Settings) -> list[str]:
    """The operator's secrets, or one generated once into the data directory (mode 0600);
    in production an explicit key is required instead."""
    if settings.secret_key:
        weak = [k for k in settings.secret_key if len(k) < MIN_SECRET_LENGTH]
        if weak:
            raise ConfigError(
                f"SWITCHBOARD_SECRET_KEY entries must be at least {MIN_SECRET_LENGTH} characters"
            )
        return list(settings.secret_key)
    if settings.env == "production":
        # A key generated into one container's data directory would differ per replica
        # and vanish with the container, taking every stored credential with it.
        raise ConfigError(
            "SWITCHBOARD_ENV=production needs SWITCHBOARD_SECRET_KEY; generate one with: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    return [_read_or_create(prepare_data_dir(settings) / SECRET_KEY_FILE)]


def check_settings(settings: Settings) -> None:
    """Refuse settings that cannot make a safe server, each with one line naming the
    setting and the fix (`ConfigError`)."""
    if settings.env == "production" and settings.local_trust == "on":
        raise ConfigError(
            "SWITCHBOARD_LOCAL_TRUST=on is refused when SWITCHBOARD_ENV=production "
            "(anyone on this machine, or a reverse proxy on it, would act as the owner); "
            "unset it or set it to off"
        )
    allowed_origins(settings)


def allowed_origins(settings: Settings) -> tuple[str, ...]:
    """The browser origins of SWITCHBOARD_CORS_ORIGINS; `ConfigError` for a wildcard or
    an entry that is not an origin."""
    try:
        return parse_origins(settings.cors_origins)
    except ValueError as exc:
        raise ConfigError(f"SWITCHBOARD_CORS_ORIGINS: {exc}") from None


def operator_endpoints(settings: Settings) -> dict[str, ProviderEndpoint]:
    """Providers the operator configured through the environment (trusted endpoints)."""
    configured = {
        "openai": (settings.openai_api_key, settings.openai_base_url),
        "anthropic": (settings.anthropic_api_key, settings.anthropic_base_url),
        "gemini": (settings.gemini_api_key, settings.gemini_base_url),
        "groq": (settings.groq_api_key, None),
        "openrouter": (settings.openrouter_api_key, None),
        "ollama": (None, settings.ollama_url),
    }
    endpoints: dict[str, ProviderEndpoint] = {}
    for name, (key, base_url) in configured.items():
        if not key and not base_url:
            continue
        known = KNOWN_PROVIDERS[name]
        endpoints[name] = ProviderEndpoint(
            kind=known.kind,
            provider=name,
            base_url=(base_url or known.default_base_url or "").rstrip("/") or None,
            api_key=key,
            trusted=True,
        )
    return endpoints


def build_context(settings: Settings) -> AppContext:
    """Everything the app needs, wired from `settings`."""
    check_settings(settings)
    keys = secret_keys(settings)
    engine = create_engine(settings.resolved_database_url)
    sessions = session_factory(engine)
    clients = OutboundClients(exemptions=settings.outbound_exemptions)
    # Every provider call logs its upstream failures (one WARNING line each).
    # Desktops attached to this process (the CloudToLocalLLM face's bridge sockets).
    bridges = MemoryBridgeRelay()
    factory = LoggedProviderFactory(
        clients,
        settings.upstream_timeout_seconds,
        settings.upstream_connect_timeout_seconds,
        relay=bridges,
    )
    catalogs = CatalogCache()
    providers = ProviderSetup(
        factory=factory,
        secrets=SecretBox(keys),
        operator=operator_endpoints(settings),
        allow_private_upstreams=settings.allow_private_upstreams,
        # Catalogs are fetched with the user's connections: a change drops them.
        on_change=(catalogs.forget_user,),
    )

    async def write_usage(entries: Sequence[UsageEntry]) -> None:
        async with unit_of_work(sessions) as uow:
            await UsageRepository(uow.session).insert_many(entries)

    recorder = UsageRecorder(write_usage, interval=settings.usage_flush_interval_seconds)
    resolver = ModelResolver(settings.model_aliases)
    limiter = LimitsRateLimiter(settings.redis_url, namespace=settings.resolved_redis_prefix)

    async def database_ping() -> None:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise ConnectionError("database unreachable") from exc

    bus = build_bus(settings)
    # Domains owning task/session/bridge ids register their resolvers here.
    ownership = OwnershipRegistry()
    register_topic_owners(ownership, lambda: unit_of_work(sessions))
    job_queue = build_job_queue(settings)
    workers = build_worker_watch(settings, lambda: unit_of_work(sessions))
    optional = redis_checks(limiter.ping, bus, job_queue) if settings.redis_url else {}
    workflow_engine = build_workflow_engine(settings, clients)
    optional |= workflow_engine_checks(workflow_engine)
    optional |= ollama_checks(providers)
    health = HealthChecker(
        {"database": database_ping},
        optional,
        providers=lambda: sorted(providers.operator),
        workers=workers.status if workers is not None else None,
    )
    replies = ReplyRunner(
        lambda: unit_of_work(sessions),
        providers,
        recorder,
        resolver,
        ActiveReplies(),
        bus,
        default_model=settings.default_model,
        leases=ReplyLeases(
            StreamingRows(lambda: unit_of_work(sessions)),
            StreamPersistence.from_flush(
                settings.stream_flush_interval_seconds, settings.stream_flush_bytes
            ),
        ),
    )
    jobs = JobSetup(
        registry=JobRegistry(),
        queue=job_queue,
        bus=bus,
        max_queued_per_user=settings.max_queued_jobs_per_user,
        max_schedules_per_user=settings.max_schedules_per_user,
    )
    ctx = AppContext(
        options=AppOptions(
            version=__version__,
            default_model=settings.default_model,
            access_ttl_seconds=settings.access_token_ttl_seconds,
            refresh_ttl_days=settings.refresh_token_ttl_days,
            rate_limit_default=settings.rate_limit_default,
            rate_limit_auth=settings.rate_limit_auth,
            rate_limits={
                "pluginmind": settings.pluginmind_rate_limit,
                "switchboard": settings.switchboard_rate_limit,
            },
            owner_email=settings.owner_email,
            local_trust=settings.local_trust_enabled,
            database_api=settings.database_api,
            redis_url=settings.redis_url,
        ),
        engine=engine,
        sessions=sessions,
        providers=providers,
        signer=TokenSigner(keys, ttl_seconds=settings.access_token_ttl_seconds),
        # Entries written together (a cold start) expire spread over the last second.
        credentials=CredentialCache(ttl_jitter=0.2),
        resolver=resolver,
        recorder=recorder,
        replies=replies,
        limiter=limiter,
        health=health,
        catalogs=catalogs,
        bus=bus,
        topics=TopicAccess(ownership),
        media_storage=LocalMediaStorage(settings.resolved_media_dir),
        image_fetcher=SafeImageFetcher(clients),
        jobs=jobs,
        job_runtime=build_job_runtime(
            settings, lambda: unit_of_work(sessions), jobs, job_queue, workers
        ),
        analysis=build_analysis_setup(
            settings, providers, resolver, recorder, lambda: unit_of_work(sessions)
        ),
        issuers=build_issuers(settings, JwksFetcher(clients)),
        account_purge=build_account_purge(),
        bridges=bridges,
        workflow_engine=workflow_engine,
    )
    register_job_types(jobs.registry, ctx)
    register_extra_task_modules(jobs.registry, settings.extra_task_modules)
    return ctx


def redis_checks(limiter_ping: Check, bus: EventBus, job_queue: JobTransport) -> dict[str, Check]:
    """The optional checks of what runs on Redis, each named for readiness reports: the
    rate limiter's counters, the event bus and the job queue."""
    checks: dict[str, Check] = {"redis": limiter_ping}
    for name, part in (("event_bus", bus), ("job_queue", job_queue)):
        ping = getattr(part, "ping", None)
        if ping is not None:
            checks[name] = ping
    return checks


def build_workflow_engine(settings: Settings, clients: OutboundClients) -> ComfyUIEngine | None:
    """The operator's ComfyUI (COMFYUI_URL, trusted like OLLAMA_URL), or None when unset."""
    if not settings.comfyui_url:
        return None
    endpoint = ProviderEndpoint(
        kind="comfyui", provider="comfyui", base_url=settings.comfyui_url, trusted=True
    )
    try:
        return ComfyUIEngine(
            endpoint,
            clients,
            settings.upstream_timeout_seconds,
            settings.upstream_connect_timeout_seconds,
        )
    except SwitchboardError as exc:
        raise ConfigError(f"COMFYUI_URL: {exc.message}") from None


def workflow_engine_checks(engine: ComfyUIEngine | None) -> dict[str, Check]:
    """The optional `comfyui` check when an engine is configured: its server answers.

    Optional: image workflows wait while it is away, everything else serves.
    """
    if engine is None:
        return {}

    async def ping() -> None:
        try:
            await engine.test_connection()
        except SwitchboardError:
            # Plain words of our own: readiness reports never show the operator's address.
            raise ConnectionError("ComfyUI unreachable") from None

    return {"comfyui": ping}


def ollama_checks(providers: ProviderSetup) -> dict[str, Check]:
    """The optional `ollama` check when the operator set OLLAMA_URL: its server answers.

    Optional: only calls to Ollama fail while it is away, everything else serves.
    """
    endpoint = providers.operator.get("ollama")
    if endpoint is None:
        return {}

    async def ping() -> None:
        try:
            await providers.factory.provider(endpoint).test_connection()
        except SwitchboardError:
            # Plain words of our own: readiness reports never show the operator's address.
            raise ConnectionError("Ollama unreachable") from None

    return {"ollama": ping}


# -- start-up writes ---------------------------------------------------------------------
# Replicas started together on a fresh database each run these at once: every one is
# idempotent, and one that loses a race to another replica tries again and finds the
# winner's row.
OWNER_ATTEMPTS = 3


async def ensure_owner_account(ctx: AppContext, email: str) -> UserRead:
    """The owner account, created when missing, whatever other replicas do meanwhile."""
    for attempt in range(1, OWNER_ATTEMPTS + 1):
        try:
            async with ctx.unit_of_work() as uow:
                return await ctx.services(uow).accounts.ensure_owner(email)
        except Conflict:
            # Another replica inserted it between our read and our insert: read it now.
            if attempt == OWNER_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


# -- account deletion --------------------------------------------------------------------
def build_issuers(settings: Settings, fetcher: KeyFetcher) -> dict[str, IdTokenVerifier]:
    """The ID-token verifiers by name: Google always (refusing tokens until a client id is
    set), the generic OIDC issuer when SWITCHBOARD_OIDC_ISSUER is set."""
    skew = settings.oidc_clock_skew_seconds
    configs = [
        google_issuer(
            client_id=settings.google_client_id,
            jwks_url=settings.google_jwks_url,
            issuers=settings.google_issuers,
            cache_seconds=settings.google_jwks_cache_seconds,
            clock_skew_seconds=skew,
            email_domains=settings.google_email_domains,
        )
    ]
    if settings.oidc_issuer:
        if not (settings.oidc_audience and settings.oidc_jwks_url):
            raise ConfigError(
                "SWITCHBOARD_OIDC_ISSUER needs SWITCHBOARD_OIDC_AUDIENCE and "
                "SWITCHBOARD_OIDC_JWKS_URL"
            )
        configs.append(
            IssuerConfig(
                name=OIDC,
                issuers=(settings.oidc_issuer,),
                audience=settings.oidc_audience,
                jwks_url=settings.oidc_jwks_url,
                algorithms=tuple(settings.oidc_algorithms),
                clock_skew_seconds=skew,
                cache_seconds=settings.oidc_jwks_cache_seconds,
                email_domains=frozenset(settings.oidc_email_domains),
            )
        )
    return {config.name: IdTokenVerifier(config, fetcher) for config in configs}


def build_account_purge() -> AccountPurge[Services]:
    """Each domain's part of deleting an account, in order; the user row goes last, and
    with it, by cascade, every row the account owns. A domain that keeps anything the
    database cannot cascade (bytes, caches, state elsewhere) adds its purger here."""
    purge: AccountPurge[Services] = AccountPurge()
    # The stored bytes of the user's files, once the deletion commits.
    purge.register("media", lambda services, user_id: services.media.purge_owner(user_id))
    # Endpoints and catalogs cached from the user's connections.
    purge.register("providers", lambda services, user_id: services.providers.purge_owner(user_id))
    return purge


# -- job types ---------------------------------------------------------------------------
# Whoever builds the job registry (the worker and the in-process runner) calls this, so
# the registry is complete before any job runs. Each domain adds its types here.
def register_job_types(registry: JobRegistry, ctx: AppContext) -> JobRegistry:
    """Register every domain's job types (`image_generation`, `analysis`) into `registry`."""
    for job_type in image_job_types(
        ctx.providers,
        ctx.media_storage,
        ctx.image_fetcher,
        recorder=ctx.recorder,
        engine=ctx.workflow_engine,
    ):
        registry.register(job_type)
    for job_type in analysis_job_types(ctx.analysis):
        registry.register(job_type)
    for job_type in task_job_types(
        ctx.providers,
        ctx.media_storage,
        ctx.image_fetcher,
        recorder=ctx.recorder,
        engine=ctx.workflow_engine,
    ):
        registry.register(job_type)
    for job_type in comfy_job_types(ctx.workflow_engine, ctx.media_storage, ctx.bus):
        registry.register(job_type)
    return registry


def build_analysis_setup(
    settings: Settings,
    providers: ProviderSetup,
    resolver: ModelResolver,
    recorder: UsageRecorder,
    units: UnitOfWorkFactory,
) -> AnalysisSetup:
    """PluginMind's analysis workflow: models default to the operator's provider."""
    default = default_analysis_model(providers.operator, settings.default_model)
    return AnalysisSetup(
        providers=providers,
        resolver=resolver,
        recorder=recorder,
        units=units,
        models=AnalysisModels(
            optimizer=settings.analysis_optimizer_model or default,
            analyzer=settings.analysis_model or default,
            per_type=dict(settings.analysis_models),
        ),
        limits=QuotaLimits(
            free=settings.default_monthly_quota,
            pro=settings.analysis_pro_query_limit,
            premium=settings.analysis_premium_query_limit,
        ),
    )


def register_extra_task_modules(registry: JobRegistry, modules: Sequence[str]) -> None:
    """Import each module named in SWITCHBOARD_EXTRA_TASK_MODULES and call its
    `register(registry)` (plugins; the test suite's job types come this way)."""
    for name in modules:
        importlib.import_module(name).register(registry)


def build_job_queue(settings: Settings) -> JobTransport:
    """A Redis stream when Redis is configured, else taskiq's in-memory broker."""
    concurrency = settings.job_concurrency
    grace = settings.job_shutdown_grace_seconds
    if settings.redis_url:
        # Imported here: taskiq_redis and the Redis stream code load only with Redis.
        from switchboard.adapters.queue.redis_stream import RedisJobQueue

        return RedisJobQueue(
            settings.redis_url,
            concurrency=concurrency,
            grace_seconds=grace,
            redelivery_seconds=settings.job_redelivery_seconds,
            stream=f"{settings.resolved_redis_prefix}:jobs",
        )
    return InMemoryJobQueue(concurrency=concurrency, grace_seconds=grace)


def build_worker_watch(settings: Settings, units: UnitOfWorkFactory) -> WorkerWatch | None:
    """Worker heartbeats under the Redis prefix; None without Redis (the server itself
    runs the jobs then)."""
    if not settings.redis_url:
        return None
    from switchboard.adapters.queue.presence import RedisWorkerPresence  # only with Redis

    return WorkerWatch(
        RedisWorkerPresence(settings.redis_url, prefix=settings.resolved_redis_prefix),
        JobLeases(units),
        interval_seconds=settings.worker_heartbeat_seconds,
    )


def build_job_runtime(
    settings: Settings,
    units: UnitOfWorkFactory,
    jobs: JobSetup,
    transport: JobTransport,
    workers: WorkerWatch | None = None,
) -> JobRuntime:
    """The runner and sweeper of this process, over `transport`, and its heartbeats."""
    observer = PrometheusJobObserver()
    runner = JobRunner(
        units,
        jobs.registry,
        jobs.queue,
        jobs.bus,
        RunnerOptions(
            lease_seconds=settings.job_lease_seconds,
            retry_base_seconds=settings.job_retry_base_seconds,
            retry_max_seconds=settings.job_retry_max_seconds,
        ),
        observer,
    )
    sweeper = JobSweeper(
        JobLeases(units),
        jobs.registry,
        jobs.queue,
        jobs.bus,
        SweepOptions(
            interval_seconds=settings.job_sweep_interval_seconds,
            stale_after_seconds=settings.job_stale_after_seconds,
        ),
        observer,
    )
    return JobRuntime(transport, runner, sweeper, workers=workers)


def register_topic_owners(registry: OwnershipRegistry, units: UnitOfWorkFactory) -> None:
    """`task:{job id}` belongs to the job's owner, `session:{conversation id}` to the
    conversation's, `comfy:{session id}` to the ComfyUI session's, so their owners (and
    nobody else) may subscribe."""

    def owner_in(
        repository: type[JobRepository | ConversationRepository | ComfyRepository],
    ) -> OwnerResolver:
        async def owner(thing_id: str) -> str | None:
            key = canonical_id(thing_id)
            if key is None:
                return None
            async with units() as uow:
                return await repository(uow.session).owner_of(key)

        return owner

    registry.register("task", owner_in(JobRepository))
    registry.register("session", owner_in(ConversationRepository))
    registry.register("comfy", owner_in(ComfyRepository))


def build_bus(settings: Settings) -> EventBus:
    """Redis pub/sub when Redis is configured (replicas share it), else in-process."""
    if not settings.redis_url:
        return MemoryBus()
    from switchboard.adapters.bus.redis import RedisBus  # only with Redis

    return RedisBus(settings.redis_url, namespace=settings.resolved_redis_prefix)


def _read_or_create(path: Path) -> str:
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    # O_EXCL: two workers starting at once must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
