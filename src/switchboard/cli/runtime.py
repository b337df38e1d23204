"""What CLI commands share: settings, a migrated database and a unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from rich.console import Console

from switchboard.bootstrap import ConfigError, build_context, prepare_data_dir
from switchboard.config import Settings
from switchboard.core.container import AppContext, Services
from switchboard.core.errors import SwitchboardError
from switchboard.migrations.runner import upgrade_to_head

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def settings() -> Settings:
    """Settings from the environment; exits with a message when they are invalid."""
    try:
        return Settings()
    except ValueError as exc:
        errors.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


@asynccontextmanager
async def context(config: Settings) -> AsyncIterator[AppContext]:
    """A migrated database and the app context, disposed of afterwards."""
    prepare_data_dir(config)
    try:
        ctx = build_context(config)
    except ConfigError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        await upgrade_to_head(ctx.engine)
        yield ctx
    finally:
        await ctx.providers.factory.aclose()
        await ctx.engine.dispose()


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work; core errors become a clean exit."""

    async def main() -> T:
        async with context(settings()) as ctx, ctx.unit_of_work() as uow:
            return await work(ctx.services(uow))

    try:
        return asyncio.run(main())
    except SwitchboardError as exc:
        errors.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
