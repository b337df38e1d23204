"""Every declared setting does something: some code outside its declaration reads it.

A setting that nothing reads misleads operators (it looks like it hardens or tunes the
server, and does nothing), so declaring one without using it fails here.
"""

from __future__ import annotations

import ast
import re
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


def _environment_names() -> set[str]:
    """Every variable name Settings reads: SWITCHBOARD_<FIELD> and the vendors' aliases."""
    names = {f"SWITCHBOARD_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        names.update(choice for choice in choices if isinstance(choice, str))
    return names


def _readme_configuration_names() -> list[str]:
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    first_cells = [row.split("|")[1] for row in rows]
    return [name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)]


def test_the_readme_configuration_table_lists_only_real_settings() -> None:
    listed = _readme_configuration_names()
    assert len(listed) > 10
    unknown = sorted(set(listed) - _environment_names())
    assert not unknown, f"README lists settings that nothing reads: {unknown}"
