"""Topic authorization: own user topic, owned things through the registry, admins for
`system`, and every denial the same not-found."""

from __future__ import annotations

import pytest

from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.events.access import OwnershipRegistry, TopicAccess
from switchboard.core.events.schemas import Topic, parse_topic

ALICE = Principal(user_id="a1", email="a@example.com")
BOB = Principal(user_id="b2", email="b@example.com")
ADMIN = Principal(user_id="ad", email="admin@example.com", is_admin=True)
OWNERS = {"task": {"t1": "a1"}, "session": {"s1": "a1"}, "bridge": {"br1": "b2"}}


def make_access() -> TopicAccess:
    registry = OwnershipRegistry()
    for kind, owners in OWNERS.items():

        async def resolve(ident: str, owners: dict[str, str] = owners) -> str | None:
            return owners.get(ident)

        registry.register(kind, resolve)
    return TopicAccess(registry)


class TestParseTopic:
    @pytest.mark.parametrize(
        ("topic", "expected"),
        [
            ("system", Topic("system", None)),
            ("user:abc", Topic("user", "abc")),
            ("task:0b7c-11.x_y", Topic("task", "0b7c-11.x_y")),
        ],
    )
    def test_valid(self, topic: str, expected: Topic) -> None:
        assert parse_topic(topic) == expected
        assert str(expected) == topic

    @pytest.mark.parametrize(
        "topic",
        [
            "",
            "user",
            "user:",
            "User:a1",
            "user:a*",
            "user:a?",
            "user:[a]",
            "user:a:b",
            "chat:1",
            "system:x",
            " user:a1",
            "user:a1 ",
            "user:" + "a" * 200,
            "user:-a",
        ],
    )
    def test_invalid(self, topic: str) -> None:
        with pytest.raises(Invalid):
            parse_topic(topic)


class TestTopicAccess:
    @pytest.mark.parametrize(
        ("principal", "topic"),
        [
            (ALICE, "user:a1"),
            (ALICE, "task:t1"),
            (ALICE, "session:s1"),
            (BOB, "bridge:br1"),
            (ADMIN, "system"),
        ],
    )
    async def test_allowed(self, principal: Principal, topic: str) -> None:
        assert await make_access().authorize(principal, topic) == topic

    @pytest.mark.parametrize(
        ("principal", "topic"),
        [
            (BOB, "user:a1"),  # someone else's user topic
            (BOB, "task:t1"),  # someone else's job
            (BOB, "session:s1"),
            (ALICE, "bridge:br1"),
            (ALICE, "task:missing"),  # does not exist: the same answer
            (ALICE, "system"),  # not an admin
            (ADMIN, "user:a1"),  # admins get no one else's topics
            (ALICE, "user:a*"),  # glob characters never pass
            (ALICE, "USER:a1"),
            (ALICE, "chat:a1"),
        ],
    )
    async def test_denied_as_not_found(self, principal: Principal, topic: str) -> None:
        with pytest.raises(NotFound) as caught:
            await make_access().authorize(principal, topic)
        assert caught.value.code == "topic_not_found"

    async def test_unregistered_kind_is_denied(self) -> None:
        access = TopicAccess(OwnershipRegistry())
        assert not await access.may_subscribe(ALICE, "task:t1")

    async def test_authorize_all_dedupes_and_denies_if_any_is_denied(self) -> None:
        access = make_access()
        assert await access.authorize_all(ALICE, ["user:a1", "task:t1", "user:a1"]) == [
            "user:a1",
            "task:t1",
        ]
        with pytest.raises(NotFound):
            await access.authorize_all(ALICE, ["user:a1", "bridge:br1"])
        with pytest.raises(Invalid):
            await access.authorize_all(ALICE, [])


class TestOwnershipRegistry:
    def test_rejects_unknown_and_duplicate_kinds(self) -> None:
        registry = OwnershipRegistry()

        async def resolve(_: str) -> str | None:
            return None

        with pytest.raises(ValueError, match="not owned"):
            registry.register("user", resolve)
        registry.register("task", resolve)
        with pytest.raises(ValueError, match="already"):
            registry.register("task", resolve)
