"""E-mails are normalised (NFKC, case-folded) before uniqueness and lookup, wherever an
account is created or found (issue 11, item 14), and migration 4b8d0f2c6e31 brings
existing rows to that form without failing on the duplicates the old rule let in."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.core.accounts.errors import EmailTaken
from switchboard.core.accounts.rules import lookup_email, normalize_email
from switchboard.core.accounts.schemas import UserCreate
from switchboard.core.container import Services
from switchboard.kit.clock import utcnow
from switchboard.migrations.runner import upgrade_to
from tests.fixtures.app import Harness
from tests.migrations.rows import user_row, users_table
from tests.migrations.test_migrations import scratch_engine

__all__ = ["scratch_engine"]  # an empty database of the suite's kind (SQLite or PostgreSQL)

PASSWORD = "a-long-password-123"
# "ada@example.com" in full-width letters, and in upper-case full-width letters.
FULL_WIDTH = "\uff41\uff44\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"
FULL_WIDTH_UPPER = "\uff21\uff24\uff21@EXAMPLE.COM"


class TestRule:
    @pytest.mark.parametrize(
        ("raw", "stored"),
        [
            (FULL_WIDTH, "ada@example.com"),
            (FULL_WIDTH_UPPER, "ada@example.com"),
            (" Ada@Example.COM ", "ada@example.com"),
            # Compatibility forms: the ligature "ﬀ" and the Kelvin sign.
            ("\ufb00@x.io", "ff@x.io"),
            ("\u212a@x.io", "k@x.io"),
            # Case folding, not lower-casing: German sharp s folds to "ss".
            ("STRASSE@x.io", "strasse@x.io"),
            ("stra\u00dfe@x.io", "strasse@x.io"),
        ],
    )
    def test_stored_form(self, raw: str, stored: str) -> None:
        assert normalize_email(raw) == stored
        assert lookup_email(raw) == stored
        # Idempotent: a stored address is its own lookup key.
        assert lookup_email(stored) == stored


class TestEverywhere:
    async def test_signup_refuses_a_full_width_second_account(self, harness: Harness) -> None:
        first = await harness.client.post(
            "/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert first.status_code == 201, first.text
        for variant in (FULL_WIDTH, FULL_WIDTH_UPPER):
            again = await harness.client.post(
                "/v1/auth/signup", json={"email": variant, "password": PASSWORD}
            )
            assert again.status_code == 409, again.text

    async def test_signup_stores_the_normalised_form_and_login_finds_it(
        self, harness: Harness
    ) -> None:
        created = await harness.client.post(
            "/v1/auth/signup", json={"email": FULL_WIDTH_UPPER, "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
        assert created.json()["data"]["user"]["email"] == "ada@example.com"
        for spelling in ("ada@example.com", FULL_WIDTH, "ADA@EXAMPLE.COM"):
            signed = await harness.client.post(
                "/v1/auth/signin", json={"email": spelling, "password": PASSWORD}
            )
            assert signed.status_code == 200, (spelling, signed.text)

    async def test_owner_creation_finds_the_owner_in_any_form(self, harness: Harness) -> None:
        async def work(services: Services) -> tuple[str, str, str]:
            owner = await services.accounts.ensure_owner("boss@example.com")
            again = await services.accounts.ensure_owner("\uff22OSS@example.com")
            principal = await services.accounts.owner_principal("BOSS@EXAMPLE.COM")
            return owner.id, again.id, principal.user_id

        owner_id, again_id, principal_id = await harness.run(work)
        assert owner_id == again_id == principal_id

    async def test_get_user_by_email_normalises(self, harness: Harness) -> None:
        async def work(services: Services) -> tuple[str, str | None]:
            created = await services.accounts.create_user(UserCreate(email="ada@example.com"))
            found = await services.accounts.get_user_by_email(FULL_WIDTH)
            with pytest.raises(EmailTaken):
                await services.accounts.create_user(UserCreate(email=FULL_WIDTH))
            return created.id, None if found is None else found.id

        created_id, found_id = await harness.run(work)
        assert found_id == created_id


# --- the data migration -----------------------------------------------------------------
BEFORE = "2fdde15e1daf"
NORMALISE = "4b8d0f2c6e31"

_users = users_table()


def _row(user_id: str, email: str, minute: int) -> dict[str, object]:
    at = utcnow().replace(year=2026, month=1, day=1, hour=0, minute=minute, microsecond=0)
    return user_row(user_id, email, at=at)


def ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


class TestMigration:
    async def test_rows_are_normalised_and_collisions_do_not_fail(
        self, scratch_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        plain, old_dup, new_dup, holder, fw_only, upper = ids(6)
        await upgrade_to(scratch_engine, BEFORE)
        async with scratch_engine.begin() as connection:
            await connection.execute(
                _users.insert(),
                [
                    # Only changes: normalised.
                    _row(plain, "\uff42\uff4f\uff42@x.io", 1),
                    # Two full-width spellings of one address, nobody holding it exactly:
                    # the oldest takes it, the other is left as it was.
                    _row(new_dup, "\uff43\uff41\uff54@x.io", 3),
                    _row(old_dup, "\uff43\uff21\uff34@x.io", 2),
                    # An account already holding the address keeps it, though younger.
                    _row(fw_only, "\uff44\uff4f\uff47@x.io", 4),
                    _row(holder, "dog@x.io", 5),
                    # Stored lower-cased by the old rule already: unchanged.
                    _row(upper, "eve@x.io", 6),
                ],
            )
        with caplog.at_level("WARNING"):
            await upgrade_to(scratch_engine, NORMALISE)
        async with scratch_engine.connect() as connection:
            rows = dict((await connection.execute(select(_users.c.id, _users.c.email))).all())
        assert rows == {
            plain: "bob@x.io",
            old_dup: "cat@x.io",
            new_dup: "\uff43\uff41\uff54@x.io",
            holder: "dog@x.io",
            fw_only: "\uff44\uff4f\uff47@x.io",
            upper: "eve@x.io",
        }
        warning = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
        assert new_dup in warning and fw_only in warning
        # Ids only: addresses are personal data.
        assert "x.io" not in warning
