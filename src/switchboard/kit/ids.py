"""Identifiers: UUID4 strings everywhere, validated in one place."""

import uuid


def new_id() -> str:
    """A new random UUID as its canonical lower-case string."""
    return str(uuid.uuid4())


def canonical_id(value: str) -> str | None:
    """The canonical form of a UUID string, or None when it is not one.

    Every lookup by id goes through this so that the check and the storage layer agree on
    one spelling (upper case, braces and URN forms all collapse to the same id).
    """
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None
