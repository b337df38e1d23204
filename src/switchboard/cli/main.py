"""`switchboard`: serve, migrate, and manage users, API keys and secrets."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Column, Table

from switchboard import __version__
from switchboard.bootstrap import master_token, prepare_data_dir
from switchboard.cli.runtime import console, context, errors, run, settings
from switchboard.core.accounts.principal import Principal
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import Services
from switchboard.kit.clock import utcnow
from switchboard.logs import configure_logging

# A UUID's printed length: the id columns never squeeze below it.
UUID_WIDTH = 36

app = typer.Typer(help="switchboard: a self-hosted AI backend.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Manage the secret keys that encrypt stored credentials.", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(keys_app, name="keys")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"switchboard {__version__}")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""

    async def main() -> None:
        async with context(settings()):
            pass

    asyncio.run(main())
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
    configure_logging(config.log_level, config.log_format)
    data_dir = prepare_data_dir(config)
    master_token(config)
    migrate()
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    console.print(f"Data directory: {data_dir}")
    console.print(f"Master token:   {data_dir / 'access_token'} (mode 0600)")
    console.print(f"[bold]switchboard {__version__}[/bold] on http://{shown}:{port}")
    console.print(f"API docs:       http://{shown}:{port}/docs")
    sys.stdout.flush()
    sys.stderr.flush()
    mode = "reload" if reload else "run"
    args = [host, str(port), str(workers), mode]
    # Local trust in "auto" depends on where the server listens (config.Settings.listen_host).
    os.environ["SWITCHBOARD_LISTEN_HOST"] = host
    os.execv(sys.executable, [sys.executable, "-m", "switchboard.cli.server", *args])  # noqa: S606


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Jobs run at once (default: job_concurrency).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT.")
    ] = None,
) -> None:
    """Run background jobs from the Redis queue (needs SWITCHBOARD_REDIS_URL)."""
    from switchboard.worker import WorkerConfigError, run_worker, worker_settings

    config = settings()
    configure_logging(config.log_level, config.log_format)
    try:
        config = worker_settings(config, concurrency)
    except WorkerConfigError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
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
    table = Table(_whole("id", UUID_WIDTH), "email", "admin", "owner", "created")
    for user in page.items:
        table.add_row(
            user.id, user.email, _yes(user.is_admin), _yes(user.is_owner), str(user.created_at)
        )
    console.print(table)


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
                ",".join(k.scopes),
                str(k.expires_at or ""),
                str(k.last_used_at or ""),
                _yes(k.revoked_at is not None),
            )
            for k in keys
        ]

    table = Table(
        _whole("id", UUID_WIDTH),
        "name",
        _whole("prefix"),
        "scopes",
        "expires",
        "last used",
        "revoked",
    )
    for row in run(work):
        table.add_row(*row)
    console.print(table)


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
    count = run(lambda s: s.providers.rotate_secrets())
    console.print(f"[green]Re-encrypted {count} stored key(s).[/green]")


async def _user(services: Services, email: str):  # type: ignore[no-untyped-def]
    found = await services.accounts.get_user_by_email(email)
    if found is None:
        errors.print(f"[red]No user with email {email}[/red]")
        raise typer.Exit(1)
    return found


def _whole(header: str, width: int | None = None) -> Column:
    """A column whose values are never cut: ids are copied from it into other commands."""
    return Column(header, no_wrap=True, min_width=width)


def _yes(flag: bool) -> str:
    return "yes" if flag else ""
