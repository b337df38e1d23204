"""Every declared setting does something: some code outside its declaration reads it.

A setting that nothing reads misleads operators (it looks like it hardens or tunes the
server, and does nothing), so declaring one without using it fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from switchboard.config import Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "switchboard"


def _attributes_read() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names.add(node.attr)
    return names


READ = _attributes_read()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_setting_is_read_by_some_code(name: str) -> None:
    assert name in READ, f"Settings.{name} is declared but no code reads it"


def test_the_scan_sees_reads_and_ignores_declarations() -> None:
    # `max_body_bytes` is read by app.py; a name only ever declared is not seen.
    assert "max_body_bytes" in READ
    assert "never_declared_nor_read_setting" not in READ
