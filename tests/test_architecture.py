"""Invariants that import contracts cannot see (layering and the one outbound client)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "switchboard"
HTTP_CLIENT_MODULES = {"httpx", "httpx2", "requests", "aiohttp", "urllib3"}
# Only the outbound layer builds HTTP clients; SDK shims there and in the adapters that
# call vendors wrap what that layer hands them (they never open connections of their own).
HTTP_ALLOWED = (
    SRC / "adapters" / "http",
    SRC / "adapters" / "providers",
    SRC / "adapters" / "workflows",
)


# Query construction outside repositories, each one documented in docs/architecture.md.
QUERY_EXCEPTIONS = {
    # "Jobs": the runner's lease writes are measured hot-path conditional UPDATEs.
    SRC / "core" / "jobs" / "leases.py",
}
# What a service may take from SQLAlchemy: its session type and its exceptions.
SQLALCHEMY_FOR_SERVICES = ("sqlalchemy.exc", "sqlalchemy.ext.asyncio")
# Session methods that run or stage a statement (flushing what a repository staged is not).
SESSION_QUERIES = {
    "execute",
    "scalar",
    "scalars",
    "stream",
    "stream_scalars",
    "get",
    "add",
    "add_all",
    "delete",
    "merge",
    "refresh",
}
WEB_FRAMEWORKS = ("fastapi", "starlette")
# Modules of processes that serve no HTTP; the server entry imports the app only when run.
# `switchboard serve` replaces itself with this module, which runs uvicorn on the app.
SERVER_ENTRY = SRC / "cli" / "server.py"
HEADLESS_MODULES = (
    "switchboard.cli.main",
    "switchboard.cli.runtime",
    "switchboard.cli.server",
    "switchboard.worker",
)


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "migrations/versions" not in str(p))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", python_files(SRC), ids=lambda p: str(p.relative_to(SRC)))
def test_http_clients_only_in_the_outbound_layer(path: Path) -> None:
    if any(path.is_relative_to(allowed) for allowed in HTTP_ALLOWED):
        return
    assert not imported_modules(path) & HTTP_CLIENT_MODULES


@pytest.mark.parametrize("path", python_files(SRC / "core"), ids=lambda p: str(p.relative_to(SRC)))
def test_core_never_commits(path: Path) -> None:
    assert ".commit()" not in path.read_text()


@pytest.mark.parametrize("path", python_files(SRC / "core"), ids=lambda p: str(p.relative_to(SRC)))
def test_core_takes_no_request_objects(path: Path) -> None:
    assert not re.search(r"\bRequest\b\s*[,)]", path.read_text())


@pytest.mark.parametrize("path", python_files(SRC), ids=lambda p: str(p.relative_to(SRC)))
def test_no_blanket_exception_handlers(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            caught = node.type
            blanket = caught is None or (
                isinstance(caught, ast.Name) and caught.id in ("Exception", "BaseException")
            )
            reraises = any(isinstance(n, ast.Raise) for n in ast.walk(node))
            assert not blanket or reraises, f"{path}:{node.lineno} swallows every exception"


def query_construction(path: Path) -> list[str]:
    """Where `path` builds or runs an SQL statement: SQLAlchemy imports beyond the session
    type and exceptions, and statement-running calls on anything called a session."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module.split(".")[0] == "sqlalchemy" and not module.startswith(
                SQLALCHEMY_FOR_SERVICES
            ):
                found.append(f"{node.lineno}: from {module} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and ast.unparse(node.func.value).endswith("session")
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}(...)")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def outside_repositories(root: Path) -> list[Path]:
    return [p for p in python_files(root) if not _is_repository(p) and p not in QUERY_EXCEPTIONS]


def _is_repository(path: Path) -> bool:
    return path.name == "repository.py" or path.name.endswith("_repository.py")


@pytest.mark.parametrize(
    "path", outside_repositories(SRC / "core"), ids=lambda p: str(p.relative_to(SRC))
)
def test_core_queries_live_in_repositories(path: Path) -> None:
    found = query_construction(path)
    assert not found, "move into the domain's repository:\n" + "\n".join(found)


@pytest.mark.parametrize("path", sorted(QUERY_EXCEPTIONS), ids=lambda p: str(p.relative_to(SRC)))
def test_query_exceptions_still_exist(path: Path) -> None:
    assert query_construction(path), "no longer an exception: drop it from QUERY_EXCEPTIONS"


def unit_of_work_leaks(path: Path) -> list[str]:
    """Commits and reaches into the process context (`services.ctx`) in `path`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and (
            node.attr == "commit" or (node.attr == "ctx" and _names_services(node.value))
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def _names_services(node: ast.expr) -> bool:
    return ast.unparse(node).rsplit(".", 1)[-1].endswith("services")


@pytest.mark.parametrize("path", python_files(SRC / "faces"), ids=lambda p: str(p.relative_to(SRC)))
def test_faces_neither_commit_nor_reach_the_context(path: Path) -> None:
    """The unit of work commits itself; the process context is the core's to use."""
    found = unit_of_work_leaks(path)
    assert not found, "\n".join(found)


def headless_files() -> list[Path]:
    """The CLI's and the worker's modules, but the one that starts uvicorn on the app."""
    return [p for p in [*python_files(SRC / "cli"), SRC / "worker.py"] if p != SERVER_ENTRY]


@pytest.mark.parametrize("path", headless_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_headless_modules_import_no_web_layer(path: Path) -> None:
    """The CLI and the worker build their services from `core.container`, even lazily."""
    web = {*WEB_FRAMEWORKS, "switchboard.api", "switchboard.faces", "switchboard.app"}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            assert not any(name == w or name.startswith(w + ".") for w in web), (
                f"{path.name}:{node.lineno} imports {name}"
            )


def test_headless_processes_load_no_web_framework() -> None:
    """Importing the CLI and the worker works with the web frameworks missing. (They are
    in `sys.modules` when installed: taskiq probes for fastapi's `Depends` on import.)"""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {WEB_FRAMEWORKS!r}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for module in {HEADLESS_MODULES!r}:\n"
        "    __import__(module)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('switchboard.api', "
        "'switchboard.faces', 'switchboard.app'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
