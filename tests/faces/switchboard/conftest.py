"""The whole app (every enabled face, as the registry mounts them) on a real uvicorn
server on loopback, in its own thread and event loop, for socket tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import make_settings
from tests.fixtures.live_app import LiveApp, serving

__all__ = ["LiveApp"]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, migrated_url: str) -> Iterator[LiveApp]:
    """One server per module on 127.0.0.1, stopped (bounded) afterwards."""
    settings = make_settings(tmp_path_factory.mktemp("native"), migrated_url)
    with serving(settings, name="native-face-server") as live:
        yield live


@pytest.fixture
def _empty_tables_after(engine: AsyncEngine) -> None:
    """Request the engine fixture so the test's rows are removed after it."""
