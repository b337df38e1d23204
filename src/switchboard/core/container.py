"""The service container: the long-lived parts the composition root builds once, and the
core services of one unit of work. Faces receive it through `api.context`'s
dependencies; the CLI and workers use it directly, without a web framework."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.google import GOOGLE
from switchboard.core.accounts.identities import IdentitySignIn, IssuerSignIn
from switchboard.core.accounts.oidc import IdTokenVerifier
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.rules import looks_like_api_key
from switchboard.core.accounts.service import AccountService
from switchboard.core.accounts.tokens import TokenSigner
from switchboard.core.agents.service import AgentService
from switchboard.core.analysis.service import AnalysisService, AnalysisSetup, AnalysisWorkflow
from switchboard.core.bridge.ports import DesktopBridges
from switchboard.core.catalog.models import ModelResolver
from switchboard.core.catalog.saved import SavedModelService
from switchboard.core.catalog.service import CatalogCache, CatalogService
from switchboard.core.comfy.service import ComfyService
from switchboard.core.conversations.completions import CompletionService
from switchboard.core.conversations.replies import ChatReplies
from switchboard.core.conversations.runner import ReplyRunner
from switchboard.core.conversations.service import ConversationService
from switchboard.core.events.access import TopicAccess
from switchboard.core.events.notifications import Notifier
from switchboard.core.events.ports import EventBus
from switchboard.core.images.generation import ImageGenerationService
from switchboard.core.images.ports import ImageFetcher
from switchboard.core.images.service import ImageService
from switchboard.core.jobs.leases import JobLeases
from switchboard.core.jobs.runtime import JobRuntime
from switchboard.core.jobs.service import JobService, JobSetup
from switchboard.core.media.ports import MediaStorage
from switchboard.core.media.service import MediaService
from switchboard.core.ops.health import HealthChecker
from switchboard.core.ops.ratelimit import RateLimiter
from switchboard.core.ops.sql import SqlView
from switchboard.core.profiles.service import ProfileService
from switchboard.core.providers.service import ProviderService, ProviderSetup
from switchboard.core.purge import AccountPurge
from switchboard.core.tasks.service import ResultService, TaskService
from switchboard.core.usage.recorder import UsageRecorder
from switchboard.core.usage.service import UsageService
from switchboard.core.workflows.ports import WorkflowEngine
from switchboard.kit.db import UnitOfWork, unit_of_work


@dataclass(frozen=True, slots=True)
class AppOptions:
    """Plain values from the settings that faces and services need at request time."""

    version: str
    default_model: str
    access_ttl_seconds: int = 3600
    refresh_ttl_days: int = 30
    rate_limit_default: str = "600/minute"
    rate_limit_auth: str = "20/minute"
    # Named rates beyond "default" and "auth" (a face's own rule), by name.
    rate_limits: dict[str, str] = field(default_factory=dict)
    owner_email: str = "owner@localhost"
    # Loopback clients without credentials act as the owner (api.localtrust decides who).
    local_trust: bool = False
    # The operator's switch for the read-only database view (`core.ops.sql`).
    database_api: bool = False
    # Shared by the replicas' Socket.IO servers (their Redis manager); None: one process.
    redis_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AppContext:
    """Everything that lives as long as the process."""

    options: AppOptions
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    providers: ProviderSetup
    signer: TokenSigner
    credentials: CredentialCache
    resolver: ModelResolver
    recorder: UsageRecorder
    replies: ReplyRunner
    limiter: RateLimiter
    health: HealthChecker
    catalogs: CatalogCache
    bus: EventBus
    # Who may subscribe to which topic (ownership resolvers are registered in bootstrap).
    topics: TopicAccess
    # Where media bytes live (a local directory by default).
    media_storage: MediaStorage
    # Fetches image URLs that providers return, under the outbound policy.
    image_fetcher: ImageFetcher
    # Job types, the queue and the bus, for JobService.
    jobs: JobSetup
    # This process's queue connection, runner and sweeper (started by app or worker).
    job_runtime: JobRuntime
    # Analyses: models of each step, quotas, provider access.
    analysis: AnalysisSetup
    # ID-token verifiers of external issuers by name ("google" always; "oidc" when
    # configured); their JWKS caches are shared by the whole process.
    issuers: dict[str, IdTokenVerifier]
    # Each domain's part of deleting an account, in order (registered in bootstrap).
    account_purge: AccountPurge[Services]
    # Desktop bridges: where desktops attach and providers relay to them.
    bridges: DesktopBridges
    # The operator's workflow engine (ComfyUI, COMFYUI_URL); None when not configured.
    workflow_engine: WorkflowEngine | None = None

    @property
    def google(self) -> IdTokenVerifier:
        """The Google ID-token verifier (configured or not)."""
        return self.issuers[GOOGLE]

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work that commits when its block succeeds."""
        return unit_of_work(self.sessions)

    def services(self, uow: UnitOfWork) -> Services:
        """The core services bound to `uow`."""
        return Services(self, uow)

    @asynccontextmanager
    async def open_services(self) -> AsyncIterator[Services]:
        """The core services of a new unit of work, committed when the block succeeds."""
        async with self.unit_of_work() as uow:
            yield Services(self, uow)


class Services:
    """The core services of one unit of work, built on first use."""

    def __init__(self, ctx: AppContext, uow: UnitOfWork) -> None:
        self.ctx = ctx
        self.uow = uow

    async def delete_account(self, user_id: str) -> None:
        """Delete a user and everything they own: every domain's purger (stored files,
        caches: after the commit), then the user row, whose deletion cascades."""
        await self.ctx.account_purge.run(self, user_id)

    async def verify_credential(self, token: str) -> Principal:
        """The principal behind a presented token, dispatched by its shape."""
        if looks_like_api_key(token):
            return await self.accounts.verify_api_key(token)
        return await self.accounts.verify_access_token(token)

    @cached_property
    def accounts(self) -> AccountService:
        """Users, sessions, tokens and API keys."""
        return AccountService(
            self.uow.session,
            self.ctx.signer,
            access_ttl_seconds=self.ctx.options.access_ttl_seconds,
            refresh_ttl_days=self.ctx.options.refresh_ttl_days,
            cache=self.ctx.credentials,
        )

    @cached_property
    def providers(self) -> ProviderService:
        """Provider connections and endpoint resolution."""
        return ProviderService(
            self.uow.session, self.ctx.providers, after_commit=self.uow.after_commit
        )

    @cached_property
    def sql(self) -> SqlView:
        """The read-only database view (owner and administrators; off unless allowed)."""
        options = self.ctx.options
        return SqlView(self.uow.session, enabled=options.local_trust or options.database_api)

    @cached_property
    def profiles(self) -> ProfileService:
        """Provider profiles (Spoon Feeder): named connections with options and models."""
        return ProfileService(self.providers)

    @cached_property
    def conversations(self) -> ConversationService:
        """Conversations and stored messages."""
        return ConversationService(self.uow.session)

    @cached_property
    def completions(self) -> CompletionService:
        """Stateless completions and embeddings (the gateway path)."""
        # The checkpoint commits before the upstream call: no pooled connection is held
        # while a provider answers.
        return CompletionService(
            self.providers, self.ctx.resolver, self.ctx.recorder, checkpoint=self.uow.commit
        )

    @cached_property
    def replies(self) -> ChatReplies:
        """Replies in the user's chats; this unit of work commits before each (the
        reply runner works in units of work of its own)."""
        return ChatReplies(self.ctx.replies, checkpoint=self.uow.commit)

    @cached_property
    def catalog(self) -> CatalogService:
        """Live model catalogs across the caller's providers."""
        return CatalogService(self.providers, self.ctx.catalogs)

    @cached_property
    def saved_models(self) -> SavedModelService:
        """Models the user imported into their workspace, with one default."""
        return SavedModelService(self.uow.session)

    @cached_property
    def agents(self) -> AgentService:
        """The prompt enhancer and workflow agents (commit before each model call)."""
        return AgentService(
            self.uow.session,
            self.providers,
            self.ctx.resolver,
            default_model=self.ctx.options.default_model,
            checkpoint=self.uow.commit,
        )

    @cached_property
    def media(self) -> MediaService:
        """The user's stored files (bytes are deleted only after the commit)."""
        return MediaService(
            self.uow.session, self.ctx.media_storage, after_commit=self.uow.after_commit
        )

    @cached_property
    def comfy(self) -> ComfyService:
        """ComfyUI sessions, workflows and generations (commit before each ComfyUI call;
        generations are followed by jobs)."""
        return ComfyService(
            self.uow.session,
            self.ctx.workflow_engine,
            self.media,
            self.jobs,
            self.ctx.bus,
            after_commit=self.uow.after_commit,
            checkpoint=self.uow.commit,
        )

    @cached_property
    def images(self) -> ImageService:
        """Image models, validation against the pricing table, cost estimates."""
        return ImageService()

    @cached_property
    def image_generation(self) -> ImageGenerationService:
        """Images generated while the caller waits (commit before each provider call)."""
        return ImageGenerationService(
            self.providers,
            self.ctx.providers,
            self.media,
            self.ctx.image_fetcher,
            self.ctx.recorder,
            checkpoint=self.uow.commit,
        )

    @cached_property
    def jobs(self) -> JobService:
        """The user's background jobs and schedules (queued after the commit); deleting a
        job deletes the files it produced."""
        return JobService(self.uow, self.ctx.jobs, outputs=[self.media])

    @cached_property
    def tasks(self) -> TaskService:
        """Spoon Feeder's generation tasks, each run by the job that shares its id."""
        return TaskService(
            self.uow.session, self.jobs, self.ctx.bus, after_commit=self.uow.after_commit
        )

    @cached_property
    def results(self) -> ResultService:
        """What the user's tasks produced; deleting one deletes its files."""
        return ResultService(self.uow.session, self.media)

    @cached_property
    def notifications(self) -> Notifier:
        """Short messages for one user, over the bus (shown live by the faces)."""
        return Notifier(self.ctx.bus)

    @cached_property
    def analysis(self) -> AnalysisService:
        """Query quotas, query logs and async analyses."""
        return AnalysisService(self.uow.session, self.ctx.analysis)

    @cached_property
    def analysis_workflow(self) -> AnalysisWorkflow:
        """Analyses run now (they commit their quota and log around the provider calls),
        the analysis services' registry, configuration checks and live health."""
        return AnalysisWorkflow(self.ctx.analysis)

    async def job_counts(self) -> dict[str, int]:
        """How many jobs of all users are in each status (a number for health checks)."""
        return await JobLeases(self.ctx.unit_of_work).count_by_status()

    @cached_property
    def identities(self) -> IdentitySignIn:
        """Sign-in with ID tokens of the configured external issuers."""
        return IdentitySignIn(
            self.uow.session,
            self.ctx.issuers,
            self._accounts_issuing,
            cache=self.ctx.credentials,
        )

    @cached_property
    def google(self) -> IssuerSignIn:
        """Google sign-in (the face sets its sessions' lifetime)."""
        return IssuerSignIn(self.identities, GOOGLE)

    def _accounts_issuing(self, access_ttl_seconds: int | None) -> AccountService:
        """`accounts`, or one whose access tokens live `access_ttl_seconds`."""
        if access_ttl_seconds is None:
            return self.accounts
        return AccountService(
            self.uow.session,
            self.ctx.signer,
            access_ttl_seconds=access_ttl_seconds,
            refresh_ttl_days=self.ctx.options.refresh_ttl_days,
            cache=self.ctx.credentials,
        )

    @cached_property
    def usage(self) -> UsageService:
        """Usage totals."""
        return UsageService(self.uow.session)
