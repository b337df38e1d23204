"""Analyses: quotas, the query log, and the two-step workflow.

A query is counted against the user's monthly quota when the call is made, before any
provider is called, so failed calls count too (the quota counts attempts). Each request
is logged, and the log row is finished with the outcome even when the provider fails.

`AnalysisService` works inside its caller's unit of work. `AnalysisWorkflow` owns its
units of work, like the reply runner: the quota and the log row are committed before the
provider calls (which can take minutes and must not hold a database connection), and
the outcome is committed after them, whatever it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.accounts.principal import Principal
from switchboard.core.analysis.errors import QueryLimitExceeded, analysis_failure
from switchboard.core.analysis.prompts import ANALYZER_PROMPTS, DESCRIPTIONS, OPTIMIZER_PROMPT
from switchboard.core.analysis.repository import (
    QueryLogRepository,
    QuotaRepository,
    SubscriberRepository,
)
from switchboard.core.analysis.schemas import (
    AnalysisInput,
    AnalysisOutcome,
    AnalysisType,
    QueryLogRead,
    QuotaRead,
    ServiceUsed,
    Subscriber,
)
from switchboard.core.catalog.models import ModelResolver
from switchboard.core.catalog.pricing import cost_usd
from switchboard.core.errors import NotFound, PermissionDenied, SwitchboardError
from switchboard.core.jobs.context import UnitOfWorkFactory
from switchboard.core.jobs.schemas import JobCreate, JobRead
from switchboard.core.jobs.service import JobService
from switchboard.core.llm import ChatMessage, ChatRequest, ModelRef
from switchboard.core.providers.ports import ProviderEndpoint
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.usage.recorder import UsageEntry, UsageRecorder
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import canonical_id
from switchboard.models import QueryLog
from switchboard.models.user import UNLIMITED_QUOTA

ANALYSIS_JOB = "analysis"
MAX_LOG_PAGE = 500
MAX_ERROR_MESSAGE = 500
HEALTH_TIMEOUT_SECONDS = 5.0

# The model each operator-configured provider gets when the operator names none, in the
# order they are preferred.
_DEFAULT_MODELS: tuple[tuple[str, str], ...] = (
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("gemini", "gemini-2.0-flash"),
    ("groq", "llama-3.1-8b-instant"),
    ("openrouter", "openai/gpt-4o-mini"),
    ("ollama", "llama3.2"),
)


def default_analysis_model(operator_providers: Iterable[str], fallback: str) -> str:
    """The model an analysis step uses when the operator names none: the first configured
    operator provider's usual model, else `fallback` (echo/echo by default)."""
    configured = set(operator_providers)
    for provider, model in _DEFAULT_MODELS:
        if provider in configured:
            return f"{provider}/{model}"
    return fallback


def month_period(moment: datetime) -> str:
    """The quota period ("YYYY-MM", UTC) that `moment` falls in."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def seconds_until_next_period(moment: datetime) -> float:
    """Seconds from `moment` to the start of the next UTC month (when quotas reset)."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return max(1.0, (datetime(year, month, 1, tzinfo=UTC) - moment).total_seconds())


@dataclass(frozen=True, slots=True)
class AnalysisModels:
    """The `provider/model` of the optimizer and of the analyzer of each type."""

    optimizer: str
    analyzer: str
    per_type: Mapping[str, str] = field(default_factory=dict)

    def analyzer_for(self, analysis_type: AnalysisType) -> str:
        """The analyzer model of `analysis_type` (a per-type override, else the default)."""
        return self.per_type.get(analysis_type.value, self.analyzer)


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """Queries a month per subscription tier."""

    free: int = 10
    pro: int = 1000
    premium: int = 10000

    def for_tier(self, tier: str) -> int:
        """The monthly limit of `tier` (unknown tiers get the free tier's)."""
        return {"pro": self.pro, "premium": self.premium}.get(tier, self.free)

    def for_subscriber(self, subscriber: Subscriber) -> int | None:
        """The monthly limit of `subscriber` (None: unlimited): the operator's override,
        else none for the owner (whose server it is), else the tier's."""
        if subscriber.monthly_quota is not None:
            return None if subscriber.monthly_quota == UNLIMITED_QUOTA else subscriber.monthly_quota
        if subscriber.is_owner:
            return None
        return self.for_tier(subscriber.tier)


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """One registered analysis service and whether its provider answers."""

    name: str
    provider: str
    model: str
    healthy: bool
    error: str | None = None


class _HealthCache:
    """Live health results, kept briefly so that health endpoints cannot hammer upstreams."""

    def __init__(self) -> None:
        self.checked_at: float | None = None
        self.results: list[ServiceHealth] = []
        self.lock = asyncio.Lock()


@dataclass
class AnalysisSetup:
    """The long-lived parts of the analysis domain (built by the composition root)."""

    providers: ProviderSetup
    resolver: ModelResolver
    recorder: UsageRecorder
    units: UnitOfWorkFactory
    models: AnalysisModels
    limits: QuotaLimits = field(default_factory=QuotaLimits)
    clock: Callable[[], datetime] = utcnow
    health_ttl_seconds: float = 30.0
    health_cache: _HealthCache = field(default_factory=_HealthCache, repr=False)


@dataclass(frozen=True, slots=True)
class _Step:
    used: ServiceUsed
    ref: ModelRef
    endpoint: ProviderEndpoint


@dataclass(frozen=True, slots=True)
class _Run:
    """One analysis being run: its query log row, and who asked (usage is counted for it)."""

    log_id: int
    source: str


@dataclass(frozen=True, slots=True)
class _Plan:
    optimizer: _Step
    analyzer: _Step
    system_prompt: str


class AnalysisService:
    """Quotas, query logs and async analyses, inside the caller's unit of work."""

    def __init__(self, session: AsyncSession, setup: AnalysisSetup) -> None:
        self._session = session
        self._setup = setup
        self._quotas = QuotaRepository(session)
        self._logs = QueryLogRepository(session)
        self._users = SubscriberRepository(session)

    async def quota(self, user_id: str) -> QuotaRead:
        """The user's quota for the current month."""
        subscriber = await self._subscriber(user_id)
        period = month_period(self._setup.clock())
        used = await self._quotas.used(user_id, period)
        limit = self._setup.limits.for_subscriber(subscriber)
        return QuotaRead(period, used, limit, subscriber.tier)

    async def consume(self, user_id: str) -> QuotaRead:
        """Count one query now; `QueryLimitExceeded` (429) when the quota is used up.

        Unlimited users are counted too, so their usage shows in `/me/usage`.
        """
        subscriber = await self._subscriber(user_id)
        limit = self._setup.limits.for_subscriber(subscriber)
        now = self._setup.clock()
        period = month_period(now)
        counted, used = await self._quotas.consume(user_id, period, limit)
        if not counted:
            assert limit is not None  # an unlimited count always succeeds
            raise QueryLimitExceeded(used, limit, retry_after=seconds_until_next_period(now))
        return QuotaRead(period, used, limit, subscriber.tier)

    async def open_log(
        self, user_id: str, data: AnalysisInput, *, source: str, job_id: str | None = None
    ) -> int:
        """Log a request from `source` (the face asking) before it runs, as not yet
        successful; its log id."""
        log = await self._logs.add(
            QueryLog(
                user_id=user_id,
                source=source,
                analysis_type=data.analysis_type.value,
                user_input=data.user_input,
                success=False,
                job_id=job_id,
                created_at=self._setup.clock(),
            )
        )
        return log.id

    async def finish_log(
        self,
        user_id: str,
        log_id: int,
        *,
        success: bool,
        response_time_ms: float,
        error: str | None = None,
    ) -> None:
        """Record how a logged request ended."""
        log = await self._logs.get(user_id, log_id)
        if log is None:
            return  # the user was deleted meanwhile: nothing left to record
        log.success = success
        log.response_time_ms = round(response_time_ms, 2)
        log.error_message = error[:MAX_ERROR_MESSAGE] if error else None
        await self._session.flush()

    async def log_for_job(self, user_id: str, job_id: str) -> QueryLogRead | None:
        """The log row of one of the user's async analyses."""
        log = await self._logs.for_job(user_id, job_id)
        return None if log is None else QueryLogRead.model_validate(log)

    async def query_logs(
        self, viewer: Principal, *, user: str | None = None, limit: int = 50
    ) -> list[QueryLogRead]:
        """The viewer's own logs, newest first; an admin may name another user (id or email)."""
        owner = viewer.user_id
        if user and user not in (viewer.user_id, viewer.email):
            if not viewer.is_admin:
                raise PermissionDenied(
                    "Only administrators may read other users' logs", code="not_admin"
                )
            owner = await self._user_id_of(user)
        rows = await self._logs.newest(owner, min(max(limit, 1), MAX_LOG_PAGE))
        return [QueryLogRead.model_validate(r) for r in rows]

    async def submit(
        self, user_id: str, data: AnalysisInput, jobs: JobService, *, source: str
    ) -> JobRead:
        """Count the query and create an `analysis` job, logged, in this unit of work."""
        await self.consume(user_id)
        job = await jobs.create(
            user_id,
            JobCreate(type=ANALYSIS_JOB, params=data.model_dump(mode="json"), source=source),
        )
        await self.open_log(user_id, data, source=source, job_id=job.id)
        return job

    async def _subscriber(self, user_id: str) -> Subscriber:
        found = await self._users.subscriber(user_id)
        if found is None:
            raise NotFound("User not found", code="user_not_found")
        return found

    async def _user_id_of(self, user: str) -> str:
        canonical = canonical_id(user)
        found = await (
            self._users.existing_id(canonical)
            if canonical
            else self._users.id_by_email(user.strip().lower())
        )
        if found is None:
            raise NotFound("User not found", code="user_not_found")
        return found


class AnalysisWorkflow:
    """Runs analyses: optimizer, then analyzer, with the quota and log committed around them."""

    def __init__(self, setup: AnalysisSetup) -> None:
        self._setup = setup

    async def analyze(self, user_id: str, data: AnalysisInput, *, source: str) -> AnalysisOutcome:
        """Count, log and run one analysis now, for `source` (the face asking)."""
        async with self._setup.units() as uow:
            # Resolved first: a misconfigured provider is refused before anything counts.
            plan = await self._plan(uow.session, user_id, data.analysis_type)
            service = AnalysisService(uow.session, self._setup)
            await service.consume(user_id)
            log_id = await service.open_log(user_id, data, source=source)
        return await self._execute(user_id, data, _Run(log_id, source), plan)

    async def run_job(self, user_id: str, job_id: str, data: AnalysisInput) -> AnalysisOutcome:
        """Run an async analysis; its query was counted when the job was created (else
        now: `QueryLimitExceeded` fails the job)."""
        async with self._setup.units() as uow:
            plan = await self._plan(uow.session, user_id, data.analysis_type)
            service = AnalysisService(uow.session, self._setup)
            log = await service.log_for_job(user_id, job_id)
            if log is None:
                # `submit` counts and logs every analysis job it creates; a job that got
                # here another way is counted now, so no path runs analyses unmetered.
                await service.consume(user_id)
                log_id = await service.open_log(user_id, data, source=ANALYSIS_JOB, job_id=job_id)
                run = _Run(log_id, ANALYSIS_JOB)
            else:
                run = _Run(log.id, log.source)
        return await self._execute(user_id, data, run, plan)

    def registry(self) -> dict[str, Any]:
        """The registered analysis services and the types they serve (no live checks)."""
        models = self._setup.models
        services: dict[str, Any] = {
            "prompt_optimizer": {"model": models.optimizer, "role": "prompt_optimizer"}
        }
        types: dict[str, Any] = {}
        for analysis_type in AnalysisType:
            name, description = DESCRIPTIONS[analysis_type]
            analyzer = models.analyzer_for(analysis_type)
            services[f"{analysis_type.value}_analyzer"] = {"model": analyzer, "role": "analyzer"}
            types[analysis_type.value] = {
                "name": name,
                "description": description,
                "model": analyzer,
            }
        return {"services": services, "analysis_types": types}

    def configuration_problems(self) -> list[str]:
        """Model settings that cannot work (names no provider answers to)."""
        models = self._setup.models
        names = [models.optimizer, models.analyzer, *models.per_type.values()]
        problems = []
        for name in dict.fromkeys(names):
            try:
                self._setup.resolver.resolve(name)
            except SwitchboardError:
                problems.append(f"unknown analysis model '{name}'")
        unknown_types = set(models.per_type) - {t.value for t in AnalysisType}
        problems += [f"unknown analysis type '{t}'" for t in sorted(unknown_types)]
        return problems

    async def health(self) -> list[ServiceHealth]:
        """Whether each registered service's provider answers (cached for a few seconds)."""
        cache = self._setup.health_cache
        async with cache.lock:
            now = time.monotonic()
            if (
                cache.checked_at is not None
                and now - cache.checked_at < self._setup.health_ttl_seconds
            ):
                return list(cache.results)
            cache.results = await self._check_all()
            cache.checked_at = time.monotonic()
            return list(cache.results)

    # -- internals ------------------------------------------------------------------------
    async def _plan(
        self, session: AsyncSession, user_id: str, analysis_type: AnalysisType
    ) -> _Plan:
        providers = ProviderService(session, self._setup.providers)
        models = self._setup.models

        async def step(name: str, model: str) -> _Step:
            ref = self._setup.resolver.resolve(model)
            endpoint = await providers.endpoint_for(user_id, ref.provider)
            return _Step(ServiceUsed(name, ref.provider, ref.model), ref, endpoint)

        return _Plan(
            optimizer=await step("prompt_optimizer", models.optimizer),
            analyzer=await step(
                f"{analysis_type.value}_analyzer", models.analyzer_for(analysis_type)
            ),
            system_prompt=ANALYZER_PROMPTS[analysis_type],
        )

    async def _execute(
        self, user_id: str, data: AnalysisInput, run: _Run, plan: _Plan
    ) -> AnalysisOutcome:
        started = time.perf_counter()
        log_id = run.log_id
        try:
            optimized = await self._call(
                user_id, run, plan.optimizer, OPTIMIZER_PROMPT, data.user_input
            )
            # An optimizer that answers nothing must not leave the analyzer with nothing.
            optimized = optimized.strip() or data.user_input
            analysis = await self._call(user_id, run, plan.analyzer, plan.system_prompt, optimized)
        except SwitchboardError as exc:
            failure = analysis_failure(exc)
            await self._finish(user_id, log_id, False, started, failure.message)
            raise failure from exc
        elapsed = await self._finish(user_id, log_id, True, started, None)
        return AnalysisOutcome(
            analysis_type=data.analysis_type,
            optimized_prompt=optimized,
            analysis_result=analysis,
            system_prompt=plan.system_prompt,
            prompt_optimizer=plan.optimizer.used,
            analyzer=plan.analyzer.used,
            response_time_ms=elapsed,
            query_log_id=log_id,
            metadata={"response_time_ms": elapsed, "query_log_id": log_id},
        )

    async def _call(self, user_id: str, run: _Run, step: _Step, system: str, text: str) -> str:
        provider = self._setup.providers.factory.provider(step.endpoint)
        request = ChatRequest(
            model=step.ref.model,
            messages=[
                ChatMessage(role="system", content=system),
                ChatMessage(role="user", content=text),
            ],
        )
        result = await provider.chat(request)
        if result.usage is not None:
            self._setup.recorder.record(
                UsageEntry(
                    user_id=user_id,
                    source=run.source,
                    provider=step.ref.provider,
                    model=step.ref.model,
                    prompt_tokens=result.usage.prompt_tokens,
                    completion_tokens=result.usage.completion_tokens,
                    cost_usd=cost_usd(step.ref.provider, step.ref.model, result.usage),
                    kind="chat",
                )
            )
        return result.text

    async def _finish(
        self, user_id: str, log_id: int, success: bool, started: float, error: str | None
    ) -> float:
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        # Shielded: a client that disconnects now must not lose the log's outcome.
        await asyncio.shield(self._write_outcome(user_id, log_id, success, elapsed, error))
        return elapsed

    async def _write_outcome(
        self, user_id: str, log_id: int, success: bool, elapsed: float, error: str | None
    ) -> None:
        async with self._setup.units() as uow:
            await AnalysisService(uow.session, self._setup).finish_log(
                user_id, log_id, success=success, response_time_ms=elapsed, error=error
            )

    async def _check_all(self) -> list[ServiceHealth]:
        models = self._setup.models
        named = [("prompt_optimizer", models.optimizer)] + [
            (f"{t.value}_analyzer", models.analyzer_for(t)) for t in AnalysisType
        ]
        refs: dict[str, ModelRef] = {}
        broken: list[ServiceHealth] = []
        for name, model in named:
            try:
                refs[name] = self._setup.resolver.resolve(model)
            except SwitchboardError:
                broken.append(ServiceHealth(name, "", model, False, "unknown model"))
        probes = sorted({ref.provider for ref in refs.values()})
        found = await asyncio.gather(*(self._probe(p) for p in probes))
        outcomes = dict(zip(probes, found, strict=True))
        checked = [
            ServiceHealth(
                name,
                ref.provider,
                ref.model,
                outcomes[ref.provider] is None,
                outcomes[ref.provider],
            )
            for name, ref in refs.items()
        ]
        return checked + broken

    async def _probe(self, provider_name: str) -> str | None:
        """None when the operator's endpoint for the provider answers, else why not."""
        endpoint = self._setup.providers.operator.get(provider_name)
        if endpoint is None and provider_name == "echo":
            endpoint = ProviderEndpoint(kind="echo", provider="echo", trusted=True)
        if endpoint is None:
            return "not configured by the operator"
        try:
            await asyncio.wait_for(
                self._setup.providers.factory.provider(endpoint).test_connection(),
                timeout=HEALTH_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            return "timed out"
        except SwitchboardError as exc:
            return exc.code
        return None
