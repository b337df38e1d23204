"""Fixtures of the provider adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.adapters.providers.trickle import Trickle, serve_trickle


@pytest.fixture
async def trickle() -> AsyncIterator[Trickle]:
    """A server that trickles its answer one byte at a time (see `trickle`)."""
    async with serve_trickle() as server:
        yield server
