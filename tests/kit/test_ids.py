"""Identifiers: canonical UUID strings, ordered by creation."""

import uuid

from switchboard.kit.ids import canonical_id, new_id


def test_new_ids_are_canonical_version_7_uuids() -> None:
    value = new_id()
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert str(parsed) == value


def test_new_ids_sort_in_creation_order() -> None:
    # The property the primary-key indexes rely on: each new id sorts after the last.
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_canonical_id_collapses_spellings_and_refuses_the_rest() -> None:
    value = new_id()
    assert canonical_id(value.upper()) == value
    assert canonical_id("{" + value + "}") == value
    assert canonical_id("urn:uuid:" + value) == value
    assert canonical_id("not-an-id") is None
    assert canonical_id("") is None
