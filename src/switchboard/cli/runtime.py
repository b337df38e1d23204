"""What CLI commands share: settings, a migrated database, a unit of work, and failures
an operator can fix told in one line (the traceback with `--debug`)."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from switchboard.bootstrap import ConfigError, build_context, prepare_data_dir
from switchboard.cli.failures import explain, preflight_problem
from switchboard.config import Settings
from switchboard.core.container import AppContext, Services
from switchboard.core.errors import SwitchboardError
from switchboard.migrations.runner import MigrationProgress, upgrade_to_head

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)

# Exit status of a command refused for its settings (as click's usage errors).
CONFIG_EXIT = 2


class _Flags:
    """Global options of the `switchboard` command (set by its callback)."""

    debug = False


def set_debug(on: bool) -> None:
    """Show tracebacks of failures that are otherwise told in one line (`--debug`)."""
    _Flags.debug = on


def debugging(config: Settings | None) -> bool:
    """Whether tracebacks are shown: `--debug`, or SWITCHBOARD_LOG_LEVEL=DEBUG."""
    return _Flags.debug or (config is not None and config.log_level.upper() == "DEBUG")


def settings() -> Settings:
    """Settings from the environment; exits with a message when they are invalid."""
    try:
        return Settings()
    except ValueError as exc:
        errors.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(CONFIG_EXIT) from exc


def refuse(line: str, config: Settings | None = None, exc: BaseException | None = None) -> NoReturn:
    """Print `line` (and, when debugging, the traceback of `exc`) and exit with 2."""
    if exc is not None and debugging(config):
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()
    # One line whatever the terminal's width: it is read in logs and copied into issues.
    errors.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(CONFIG_EXIT) from exc


@contextmanager
def explained(config: Settings) -> Iterator[None]:
    """Turn a failure of the settings (a `ConfigError`, a database or Redis that cannot
    be used) into one line and exit status 2; anything else propagates (a bug)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except ConfigError as exc:
        refuse(str(exc), config, exc)
    except Exception as exc:
        line = explain(exc, config.resolved_database_url, config.redis_url)
        if line is None:
            raise
        refuse(line, config, exc)


@asynccontextmanager
async def context(
    config: Settings, progress: MigrationProgress | None = None
) -> AsyncIterator[AppContext]:
    """A migrated database and the app context, disposed of afterwards."""
    prepare_data_dir(config)
    problem = preflight_problem(config.resolved_database_url, config.redis_url)
    if problem is not None:
        refuse(problem, config)
    ctx = build_context(config)
    try:
        await upgrade_to_head(ctx.engine, progress)
        yield ctx
    finally:
        await ctx.providers.factory.aclose()
        await ctx.engine.dispose()


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work; core errors become a clean exit."""
    config = settings()

    async def main() -> T:
        async with context(config) as ctx, ctx.unit_of_work() as uow:
            return await work(ctx.services(uow))

    try:
        with explained(config):
            return asyncio.run(main())
    except SwitchboardError as exc:
        errors.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
