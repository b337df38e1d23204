"""`rotate_secrets` tells its caller how far it got (the CLI's progress bar)."""

from __future__ import annotations

from tests.core.providers.test_service import OTHER_KEY, _save
from tests.fixtures.app import Harness


async def test_progress_is_told_before_the_first_key_and_after_each(harness: Harness) -> None:
    owner = (await harness.user("owner@example.com")).id
    await _save(harness, owner, "openai")
    await _save(harness, owner, "groq", api_key=OTHER_KEY)
    await _save(harness, owner, "mistral", api_key=OTHER_KEY)
    seen: list[tuple[int, int]] = []

    count = await harness.run(
        lambda s: s.providers.rotate_secrets(
            progress=lambda done, total: seen.append((done, total))
        )
    )

    assert count == 3
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
