"""Invariants that import contracts cannot see (STYLE.md habit 5, SECURITY.md rule 1)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "switchboard"
HTTP_CLIENT_MODULES = {"httpx", "httpx2", "requests", "aiohttp", "urllib3"}
# Only the outbound layer builds HTTP clients; SDK shims there and in provider adapters
# wrap what that layer hands them (they never open connections of their own).
HTTP_ALLOWED = (
    SRC / "adapters" / "http",
    SRC / "adapters" / "providers",
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
