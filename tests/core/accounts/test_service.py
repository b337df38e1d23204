"""AccountService users: one class per method, one test per scenario."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.accounts.cache import CredentialCache
from switchboard.core.accounts.errors import (
    ApiKeyInvalid,
    EmailTaken,
    InvalidEmail,
    OwnerMustBeAdmin,
    TokenInvalid,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from switchboard.core.accounts.schemas import UserCreate, UserRead, UserUpdate
from switchboard.core.accounts.service import AccountService
from switchboard.core.errors import Conflict, NotFound
from switchboard.kit.db import Base
from switchboard.kit.ids import new_id
from switchboard.models import (
    ApiKey,
    AuthSession,
    Conversation,
    Message,
    ProviderConnection,
    RefreshToken,
    UsageRecord,
    User,
)
from tests.core.accounts.conftest import (
    PASSWORD,
    UNKNOWN_ID,
    count,
    principal_of,
    row,
)


class TestCreateUser:
    async def test_email_is_lower_cased_and_trimmed(self, service: AccountService) -> None:
        user = await service.create_user(
            UserCreate(email="  Carol@Example.COM ", password=PASSWORD)
        )
        assert user.email == "carol@example.com"
        assert user.has_password
        assert not user.is_admin
        assert not user.is_owner

    async def test_duplicate_email_in_other_case(
        self, service: AccountService, user: UserRead
    ) -> None:
        with pytest.raises(EmailTaken) as caught:
            await service.create_user(UserCreate(email="ALICE@example.com", password=PASSWORD))
        assert isinstance(caught.value, Conflict)
        assert caught.value.param == "email"

    async def test_duplicate_email_racing_past_the_check(
        self, service: AccountService, user: UserRead, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def nobody(email: str) -> None:
            return None

        monkeypatch.setattr(service._users, "get_by_email", nobody)
        with pytest.raises(EmailTaken):
            await service.create_user(UserCreate(email="alice@example.com", password=PASSWORD))

    @pytest.mark.parametrize("password", ["", "short", "1234567"])
    async def test_password_too_short(self, service: AccountService, password: str) -> None:
        with pytest.raises(WeakPassword, match="at least 8"):
            await service.create_user(UserCreate(email="c@example.com", password=password))

    async def test_password_too_long(self, service: AccountService) -> None:
        with pytest.raises(WeakPassword, match="at most"):
            await service.create_user(UserCreate(email="c@example.com", password="x" * 1025))

    @pytest.mark.parametrize(
        "email", ["", "plain", "two@@example.com", "a b@example.com", "a@b\x00c", "@example.com"]
    )
    async def test_invalid_email(self, service: AccountService, email: str) -> None:
        with pytest.raises(InvalidEmail):
            await service.create_user(UserCreate(email=email, password=PASSWORD))

    async def test_without_password(self, service: AccountService) -> None:
        user = await service.create_user(UserCreate(email="g@example.com"))
        assert not user.has_password

    async def test_password_is_stored_as_argon2id(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        stored = await row(session, User, user.id)
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash

    async def test_with_profile(self, service: AccountService) -> None:
        user = await service.create_user(
            UserCreate(
                email="p@example.com",
                password=PASSWORD,
                full_name="Pat Doe",
                username="pat",
                age=30,
                onboarding={"step": 2},
            )
        )
        assert (user.full_name, user.username, user.age) == ("Pat Doe", "pat", 30)
        assert user.onboarding == {"step": 2}
        assert not user.survey_completed

    async def test_username_taken_in_other_case(self, service: AccountService) -> None:
        await service.create_user(UserCreate(email="a1@example.com", username="Pat"))
        with pytest.raises(UsernameTaken):
            await service.create_user(UserCreate(email="a2@example.com", username="pat"))

    async def test_admin_flag_is_a_keyword_not_an_input_field(self) -> None:
        with pytest.raises(ValidationError):
            UserCreate.model_validate({"email": "x@example.com", "is_admin": True})

    def test_read_model_has_no_password_hash(self) -> None:
        assert "password_hash" not in UserRead.model_fields


class TestGetUser:
    async def test_found(self, service: AccountService, user: UserRead) -> None:
        assert (await service.get_user(user.id)).email == "alice@example.com"

    async def test_id_in_other_spelling(self, service: AccountService, user: UserRead) -> None:
        assert (await service.get_user(user.id.upper())).id == user.id

    @pytest.mark.parametrize("user_id", [UNKNOWN_ID, "not-a-uuid", ""])
    async def test_not_found(self, service: AccountService, user_id: str) -> None:
        with pytest.raises(UserNotFound) as caught:
            await service.get_user(user_id)
        assert isinstance(caught.value, NotFound)


class TestGetUserByEmail:
    async def test_any_case(self, service: AccountService, user: UserRead) -> None:
        found = await service.get_user_by_email(" ALICE@example.com")
        assert found is not None
        assert found.id == user.id

    async def test_unknown(self, service: AccountService) -> None:
        assert await service.get_user_by_email("nobody@example.com") is None


class TestListUsers:
    async def test_pages(self, service: AccountService) -> None:
        for index in range(5):
            await service.create_user(UserCreate(email=f"u{index}@example.com"))
        first = await service.list_users(offset=0, limit=2)
        assert first.total == 5
        assert len(first.items) == 2
        assert first.next_cursor is not None
        last = await service.list_users(offset=4, limit=2)
        assert len(last.items) == 1
        assert last.next_cursor is None

    async def test_limit_is_clamped(self, service: AccountService, user: UserRead) -> None:
        page = await service.list_users(offset=-3, limit=0)
        assert len(page.items) == 1


class TestUpdateProfile:
    async def test_only_set_fields_change(self, service: AccountService, user: UserRead) -> None:
        await service.update_profile(user.id, UserUpdate(full_name="Alice A", bio="hi"))
        updated = await service.update_profile(user.id, UserUpdate(profession="pilot"))
        assert (updated.full_name, updated.bio, updated.profession) == ("Alice A", "hi", "pilot")

    async def test_clearing_a_field(self, service: AccountService, user: UserRead) -> None:
        await service.update_profile(user.id, UserUpdate(bio="hi"))
        updated = await service.update_profile(user.id, UserUpdate(bio=None))
        assert updated.bio is None

    async def test_survey_completed_none_leaves_it(
        self, service: AccountService, user: UserRead
    ) -> None:
        await service.update_profile(user.id, UserUpdate(survey_completed=True))
        updated = await service.update_profile(user.id, UserUpdate(survey_completed=None))
        assert updated.survey_completed

    async def test_username_taken(
        self, service: AccountService, user: UserRead, other_user: UserRead
    ) -> None:
        await service.update_profile(other_user.id, UserUpdate(username="bobby"))
        with pytest.raises(UsernameTaken):
            await service.update_profile(user.id, UserUpdate(username="BOBBY"))

    async def test_keeping_own_username_in_other_case(
        self, service: AccountService, user: UserRead
    ) -> None:
        await service.update_profile(user.id, UserUpdate(username="alice"))
        updated = await service.update_profile(user.id, UserUpdate(username="Alice"))
        assert updated.username == "Alice"

    async def test_unknown_user(self, service: AccountService) -> None:
        with pytest.raises(UserNotFound):
            await service.update_profile(new_id(), UserUpdate(bio="x"))

    def test_unknown_fields_are_rejected(self) -> None:
        with pytest.raises(ValidationError):
            UserUpdate.model_validate({"bio": "x", "token_version": 9})


class TestSetAdmin:
    async def test_grant_and_withdraw(self, service: AccountService, user: UserRead) -> None:
        assert (await service.set_admin(user.id, True)).is_admin
        assert not (await service.set_admin(user.id, False)).is_admin

    async def test_owner_stays_admin(self, service: AccountService) -> None:
        owner = await service.ensure_owner("owner@localhost")
        with pytest.raises(OwnerMustBeAdmin):
            await service.set_admin(owner.id, False)

    async def test_cached_principals_are_dropped(
        self, cached_service: AccountService, cache: CredentialCache, user: UserRead
    ) -> None:
        pair = await cached_service.start_session(user.id)
        assert not (await cached_service.verify_access_token(pair.access_token)).is_admin
        await cached_service.set_admin(user.id, True)
        assert (await cached_service.verify_access_token(pair.access_token)).is_admin


class TestDeleteUser:
    async def test_everything_owned_vanishes(
        self,
        service: AccountService,
        session: AsyncSession,
        user: UserRead,
        other_user: UserRead,
    ) -> None:
        await service.start_session(user.id)
        await service.start_session(other_user.id)
        await service.create_api_key(principal_of(user), name="k")
        await service.create_api_key(principal_of(other_user), name="k")
        for owner in (user, other_user):
            conversation = Conversation(user_id=owner.id)
            session.add(conversation)
            await session.flush()
            session.add(
                Message(conversation_id=conversation.id, user_id=owner.id, seq=1, role="user")
            )
            session.add(ProviderConnection(user_id=owner.id, provider="openai"))
            session.add(UsageRecord(user_id=owner.id, source="t", provider="p", model="m"))
        await session.commit()

        await service.delete_user(user.id)
        await session.commit()

        owned = (Conversation, Message, ProviderConnection, UsageRecord, ApiKey, AuthSession)
        for model in owned:
            assert await count(session, model, user_id=user.id) == 0, model.__tablename__
            assert await count(session, model, user_id=other_user.id) == 1, model.__tablename__
        assert await count(session, RefreshToken) == 1
        assert await count(session, User, id=user.id) == 0

    async def test_unknown_user(self, service: AccountService) -> None:
        with pytest.raises(UserNotFound):
            await service.delete_user(new_id())

    async def test_tokens_stop_working(
        self, service: AccountService, session: AsyncSession, user: UserRead
    ) -> None:
        pair = await service.start_session(user.id)
        created = await service.create_api_key(principal_of(user), name="k")
        await service.delete_user(user.id)
        with pytest.raises(TokenInvalid):
            await service.verify_access_token(pair.access_token)
        with pytest.raises(ApiKeyInvalid):
            await service.verify_api_key(created.key)

    def test_every_user_foreign_key_cascades(self) -> None:
        # Guards tables added later: a user_id without ON DELETE CASCADE blocks deletion.
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "users":
                    assert fk.ondelete == "CASCADE", f"{table.name}.{fk.parent.name}"


class TestEnsureOwner:
    async def test_created_when_missing(self, service: AccountService) -> None:
        owner = await service.ensure_owner("Owner@Localhost")
        assert owner.email == "owner@localhost"
        assert owner.is_owner
        assert owner.is_admin
        assert not owner.has_password

    async def test_idempotent(self, service: AccountService, session: AsyncSession) -> None:
        first = await service.ensure_owner("owner@localhost")
        second = await service.ensure_owner("owner@localhost")
        assert first.id == second.id
        assert await count(session, User) == 1

    async def test_promotes_an_existing_account(
        self, service: AccountService, user: UserRead
    ) -> None:
        owner = await service.ensure_owner(user.email)
        assert owner.id == user.id
        assert owner.is_owner
        assert owner.is_admin
        assert owner.has_password

    async def test_only_one_owner_after_the_email_changes(
        self, service: AccountService, session: AsyncSession
    ) -> None:
        old = await service.ensure_owner("owner@localhost")
        await service.ensure_owner("new-owner@localhost")
        assert await count(session, User, is_owner=True) == 1
        assert not (await service.get_user(old.id)).is_owner
