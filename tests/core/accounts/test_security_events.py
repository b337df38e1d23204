"""Security events the accounts domain logs: a replayed refresh token (issue 11, item 16)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from switchboard.core.accounts.errors import RefreshReuse, RefreshTokenInvalid
from switchboard.core.accounts.schemas import UserRead
from switchboard.core.accounts.service import AccountService
from switchboard.kit.crypto import sha256_hex


class TestRefreshReuse:
    async def test_a_replayed_refresh_token_is_logged_without_the_token(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        first = await service.start_session(user.id)
        second = await service.refresh(first.refresh_token)
        await session.commit()

        with capture_logs() as logs, pytest.raises(RefreshReuse):
            await service.refresh(first.refresh_token)

        events = [e for e in logs if e.get("security_event") == "refresh_token_reused"]
        assert len(events) == 1
        event = events[0]
        assert event["log_level"] == "warning"
        assert event["event"] == "security.refresh_token_reused"
        assert event["user_id"] == user.id
        assert event["session_id"] == first.session_id
        assert event["action"] == "session_revoked"
        # Neither token of the family, nor a hash that would match one, is in the line.
        line = json.dumps(event, default=str)
        for secret in (first.refresh_token, second.refresh_token, second.access_token):
            assert secret not in line
            assert sha256_hex(secret) not in line

    async def test_an_unknown_token_is_not_a_security_event(
        self, service: AccountService, user: UserRead
    ) -> None:
        # A typo or an expired client cache: refused, but nothing was replayed.
        with capture_logs() as logs, pytest.raises(RefreshTokenInvalid):
            await service.refresh("not-a-token-we-issued")
        assert not [e for e in logs if "security_event" in e]
