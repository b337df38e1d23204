"""`switchboard`: serve, migrate, and manage users, API keys and secrets."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.measure import Measurement
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Column, Table

from switchboard import __version__
from switchboard.bootstrap import prepare_data_dir
from switchboard.cli.banner import Startup, banner, shown_host
from switchboard.cli.runtime import (
    console,
    context,
    errors,
    explained,
    refuse,
    run,
    set_debug,
    settings,
)
from switchboard.config import Settings
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.accounts.service import SUBSCRIPTION_TIERS
from switchboard.core.analysis.schemas import QuotaRead
from switchboard.core.container import Services
from switchboard.kit.clock import utcnow
from switchboard.logs import configure_logging
from switchboard.migrations.runner import MigrationStep
from switchboard.models.user import UNLIMITED_QUOTA

# A UUID's printed length: the id columns never squeeze below it.
UUID_WIDTH = 36
# A width no listing reaches: measuring with it gives a table's unwrapped width.
UNBOUNDED = 100_000
# Longest part of a migration's description shown beside the spinner.
STEP_DESCRIPTION = 50

app = typer.Typer(help="switchboard: a self-hosted AI backend.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Manage the secret keys that encrypt stored credentials.", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(keys_app, name="keys")


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show the traceback of a failure that is otherwise told in one line."
        ),
    ] = False,
) -> None:
    """switchboard: a self-hosted AI backend."""
    set_debug(debug)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"switchboard {__version__}")


class MigrationDisplay:
    """Shows each revision as it is applied, and counts them: beside a spinner on a
    terminal, as one line each elsewhere (a container's log)."""

    def __init__(self) -> None:
        self.applied = 0
        self._status = console.status("Checking the database schema")

    def __call__(self, step: MigrationStep) -> None:
        """Show `step` (the runner calls this before applying it)."""
        self.applied += 1
        description = step.description.splitlines()[0] if step.description else ""
        if len(description) > STEP_DESCRIPTION:
            description = description[: STEP_DESCRIPTION - 1] + "…"
        line = f"Migrating the database {step.number}/{step.total}: {step.revision} {description}"
        if console.is_terminal:
            self._status.update(line)
        else:
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    @classmethod
    @contextmanager
    def shown(cls) -> Iterator[MigrationDisplay]:
        """A display for the block; Alembic's own INFO lines, which this replaces, are
        kept quiet meanwhile (SWITCHBOARD_LOG_LEVEL=DEBUG shows them)."""
        display = cls()
        alembic = logging.getLogger("alembic")
        level = alembic.level
        if not alembic.isEnabledFor(logging.DEBUG):
            alembic.setLevel(logging.WARNING)
        try:
            if console.is_terminal:
                with display._status:
                    yield display
            else:
                yield display
        finally:
            alembic.setLevel(level)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    config = settings()

    async def main(display: MigrationDisplay) -> None:
        async with context(config, display):
            pass

    with explained(config), MigrationDisplay.shown() as display:
        asyncio.run(main(display))
    if display.applied:
        console.print(f"[green]Database migrated:[/green] {display.applied} migration(s) applied.")
    else:
        console.print("[green]Database is up to date.[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Prepare the data directory and database, then serve the API."""
    config = settings()
    with explained(config):
        # Imported here: the faces load the web framework, which other commands never need.
        from switchboard.registry import enabled_faces

        faces = enabled_faces(config)
    if workers > 1 and not reload and not config.redis_url:
        refuse(
            f"--workers {workers} needs SWITCHBOARD_REDIS_URL: without Redis each process"
            " keeps its own live events and in-process jobs, so clients of one miss what"
            " another does; set SWITCHBOARD_REDIS_URL and run `switchboard worker`,"
            " or serve with --workers 1"
        )
    configure_logging(config.log_level, config.log_format)
    data_dir = prepare_data_dir(config)
    with explained(config), MigrationDisplay.shown() as display:
        first_start = asyncio.run(_prepare(config, display))
    base_url = f"http://{shown_host(host)}:{port}"
    startup = Startup(migrated=display.applied, first_start=first_start)
    for line in banner(
        base_url,
        data_dir=str(data_dir),
        docs_enabled=config.docs_enabled,
        faces=faces,
        startup=startup,
    ):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    mode = "reload" if reload else "run"
    args = [host, str(port), str(workers), mode]
    # Local trust in "auto" depends on where the server listens (config.Settings.listen_host).
    os.environ["SWITCHBOARD_LISTEN_HOST"] = host
    os.execv(sys.executable, [sys.executable, "-m", "switchboard.cli.server", *args])  # noqa: S606


async def _prepare(config: Settings, display: MigrationDisplay) -> bool:
    """Migrate, check Redis, and tell whether this is a first start (nobody but the
    owner has an account yet)."""
    async with context(config, display) as ctx:
        if config.redis_url:
            await _ping_redis(config.redis_url)
        async with ctx.unit_of_work() as uow:
            page = await ctx.services(uow).accounts.list_users(limit=2)
    # At most one owner: two users always include someone else.
    return not any(not user.is_owner for user in page.items)


async def _ping_redis(url: str) -> None:
    """Raise Redis's own error when it cannot be used (`cli.failures` words it)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Jobs run at once (default: job_concurrency).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 0 if a worker on this host has a live heartbeat, else 1."
        ),
    ] = False,
) -> None:
    """Run background jobs from the Redis queue (needs SWITCHBOARD_REDIS_URL)."""
    from switchboard.worker import WorkerConfigError, run_worker, worker_settings

    if check:
        from switchboard.worker import check as check_heartbeat

        raise typer.Exit(check_heartbeat(["--check"]))
    config = settings()
    configure_logging(config.log_level, config.log_format)
    try:
        config = worker_settings(config, concurrency)
    except WorkerConfigError as exc:
        refuse(str(exc), config, exc)

    async def preflight(display: MigrationDisplay) -> None:
        async with context(config, display):
            assert config.redis_url is not None
            await _ping_redis(config.redis_url)

    with explained(config):
        with MigrationDisplay.shown() as display:
            asyncio.run(preflight(display))
        asyncio.run(run_worker(config, metrics_port=metrics_port))


# -- users ------------------------------------------------------------------------------
@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    admin: Annotated[bool, typer.Option(help="Make the user an administrator.")] = False,
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a user."""

    async def work(services: Services) -> str:
        created = await services.accounts.create_user(
            UserCreate(email=email, password=password, full_name=full_name), is_admin=admin
        )
        return created.id

    user_id = run(work)
    console.print(f"[green]Created[/green] {email} ({user_id})")


@user_app.command("list")
def user_list(limit: int = 100, offset: int = 0) -> None:
    """List users."""
    page = run(lambda s: s.accounts.list_users(offset=offset, limit=limit))
    show_rows(
        ("id", "email", "role", "tier", "created"),
        [
            (
                user.id,
                user.email,
                _role(user.is_owner, user.is_admin),
                user.subscription_tier,
                _day(user.created_at),
            )
            for user in page.items
        ],
    )


@user_app.command("set-quota")
def user_set_quota(
    email: str,
    quota: Annotated[int | None, typer.Argument(min=0, help="Analyses a month.")] = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="No monthly limit.")] = False,
    default: Annotated[
        bool,
        typer.Option(
            "--default",
            help="Back to the tier's limit (SWITCHBOARD_DEFAULT_MONTHLY_QUOTA for free;"
            " the owner: unlimited).",
        ),
    ] = False,
) -> None:
    """Set a user's monthly PluginMind analysis quota: N, --unlimited or --default."""
    if [quota is not None, unlimited, default].count(True) != 1:
        refuse("Give one of N, --unlimited or --default")
    value = UNLIMITED_QUOTA if unlimited else quota

    async def work(services: Services) -> QuotaRead:
        user = await _user(services, email)
        await services.accounts.set_monthly_quota(user.id, value)
        return await services.analysis.quota(user.id)

    console.print(f"{email}: {_quota_text(run(work))}", soft_wrap=True)


@user_app.command("set-tier")
def user_set_tier(
    email: str,
    tier: Annotated[str, typer.Argument(help=" | ".join(SUBSCRIPTION_TIERS))],
) -> None:
    """Put a user on a subscription tier (PluginMind's monthly analysis limits)."""

    async def work(services: Services) -> QuotaRead:
        user = await _user(services, email)
        await services.accounts.set_subscription_tier(user.id, tier)
        return await services.analysis.quota(user.id)

    console.print(f"{email}: tier {tier}, {_quota_text(run(work))}", soft_wrap=True)


def _quota_text(quota: QuotaRead) -> str:
    limit = "unlimited" if quota.queries_limit is None else f"{quota.queries_limit}"
    return f"{limit} analyses a month ({quota.queries_used} used in {quota.period})"


@user_app.command("set-admin")
def user_set_admin(email: str, admin: Annotated[bool, typer.Option("--on/--off")] = True) -> None:
    """Grant or take away administrator rights."""

    async def work(services: Services) -> None:
        user = await _user(services, email)
        await services.accounts.set_admin(user.id, admin)

    run(work)
    console.print(f"{email}: admin {'on' if admin else 'off'}")


@user_app.command("delete")
def user_delete(
    email: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False
) -> None:
    """Delete a user and everything they own."""
    if not yes:
        typer.confirm(f"Delete {email} and all their data?", abort=True)

    async def work(services: Services) -> None:
        await services.delete_account((await _user(services, email)).id)

    run(work)
    console.print(f"[green]Deleted[/green] {email}")


# -- API keys ---------------------------------------------------------------------------
@apikey_app.command("create")
def apikey_create(
    user: Annotated[str, typer.Option("--user", help="Owner's email.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")],
    scopes: Annotated[
        list[str] | None, typer.Option("--scopes", help="Repeat for several.")
    ] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API key and print it once."""
    expires_at: datetime | None = utcnow() + timedelta(days=expires_days) if expires_days else None

    async def work(services: Services) -> str:
        owner = await _user(services, user)
        creator = Principal(user_id=owner.id, email=owner.email, is_admin=owner.is_admin)
        created = await services.accounts.create_api_key(
            creator, name=name, scopes=scopes or None, expires_at=expires_at
        )
        return created.key

    key = run(work)
    console.print("[bold]Your API key (shown once, store it now):[/bold]")
    print(key)


@apikey_app.command("list")
def apikey_list(user: Annotated[str, typer.Option("--user", help="Owner's email.")]) -> None:
    """List a user's API keys (never the secrets)."""

    async def work(services: Services) -> list[tuple[str, ...]]:
        owner = await _user(services, user)
        keys = await services.accounts.list_api_keys(owner.id, include_revoked=True)
        return [
            (
                k.id,
                k.name,
                k.prefix,
                ", ".join(k.scopes),
                _day(k.expires_at),
                _day(k.last_used_at),
                _yes(k.revoked_at is not None),
            )
            for k in keys
        ]

    show_rows(("id", "name", "prefix", "scopes", "expires", "last used", "revoked"), run(work))


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: str, user: Annotated[str, typer.Option("--user", help="Owner's email.")]
) -> None:
    """Revoke an API key."""

    async def work(services: Services) -> None:
        await services.accounts.revoke_api_key((await _user(services, user)).id, key_id)

    run(work)
    console.print(f"[green]Revoked[/green] {key_id}")


# -- secrets ----------------------------------------------------------------------------
@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt stored provider keys under the first SWITCHBOARD_SECRET_KEY.

    Put the new secret first and keep the old one after it, run this, then drop the old.
    """
    with Progress(
        TextColumn("Re-encrypting stored keys"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("rotate", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count = run(lambda s: s.providers.rotate_secrets(progress=advance))
    console.print(f"[green]Re-encrypted {count} stored key(s).[/green]")


async def _user(services: Services, email: str):  # type: ignore[no-untyped-def]
    found = await services.accounts.get_user_by_email(email)
    if found is None:
        errors.print(f"[red]No user with email {email}[/red]")
        raise typer.Exit(1)
    return found


def show_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print `rows` as a table when it fits the terminal unwrapped, else one block per
    row (the id on its own line, then label and value): ids are never cut either way."""
    table = Table(_whole(headers[0], UUID_WIDTH), *headers[1:])
    for row in rows:
        table.add_row(*row)
    unbounded = console.options.update(width=UNBOUNDED, max_width=UNBOUNDED)
    if Measurement.get(console, unbounded, table).maximum <= console.width:
        console.print(table)
        return
    for row in rows:
        console.print(row[0], soft_wrap=True, highlight=False)
        details = Table.grid(Column(no_wrap=True), Column(overflow="fold"), padding=(0, 2))
        for header, value in zip(headers[1:], row[1:], strict=True):
            if value:
                details.add_row(header, value)
        console.print(Padding(details, (0, 0, 0, 2), expand=False))


def _whole(header: str, width: int | None = None) -> Column:
    """A column whose values are never cut: ids are copied from it into other commands."""
    return Column(header, no_wrap=True, min_width=width)


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _role(owner: bool, admin: bool) -> str:
    return "owner" if owner else "admin" if admin else ""


def _day(moment: datetime | None) -> str:
    """A date as YYYY-MM-DD (UTC); times of day do not help a listing."""
    return "" if moment is None else moment.strftime("%Y-%m-%d")
