"""Fixtures of the workflow engine tests: one fake ComfyUI server for the session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.fixtures.upstreams.comfyui_fake import ComfyFake


@pytest.fixture(scope="session")
def comfyui_server() -> Iterator[ComfyFake]:
    """The fake ComfyUI server on loopback for the whole session."""
    fake = ComfyFake()
    fake.upstream.start()
    yield fake
    fake.upstream.stop()


@pytest.fixture
def comfyui(comfyui_server: ComfyFake) -> ComfyFake:
    """The fake ComfyUI server with no prompts, files or script."""
    comfyui_server.reset()
    return comfyui_server


class Polls:
    """The polling fallback's pause, held until the test lets the next polls through:
    the test decides when the engine asks again, no time has to pass."""

    def __init__(self) -> None:
        self.count = 0
        self._go = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        """Count the pause and wait for `release`."""
        self.count += 1
        await self._go.wait()

    def release(self) -> None:
        """Let every pause from now on through."""
        self._go.set()


@pytest.fixture
def polls() -> Polls:
    """A fresh `Polls`."""
    return Polls()
