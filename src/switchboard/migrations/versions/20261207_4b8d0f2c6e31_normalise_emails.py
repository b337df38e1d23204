"""users.email normalised (NFKC, case-folded) as sign-up and sign-in now look it up

Revision ID: 4b8d0f2c6e31
Revises: 3a7c9e1b5d20
Create Date: 2026-12-07 12:00:00.000000

Until now e-mails were stored trimmed and lower-cased, so full-width and compatibility
forms of an address (full-width `admin@example.com`) made second accounts. The service
now stores and looks up `core.accounts.rules.lookup_email` (NFKC, case fold, NFKC); this
brings existing rows to that form.

Two existing rows may normalise to one address (the duplicates the old rule let in).
The migration never fails on that and never deletes or merges accounts:
- the row that already holds the normalised address keeps it; if none does, the oldest
  row of the group (created_at, then id) takes it;
- every other row of the group keeps its stored address unchanged. E-mail lookups
  normalise, so those accounts can no longer be reached by that e-mail (password
  sign-in, an issuer's e-mail): their sessions, API keys and linked identities still
  work, and an operator can rename or delete them. Their ids are logged as a warning.
A normalised address longer than the column (320) leaves its row unchanged (logged).

Downgrade changes nothing: the original spellings are not kept, and a normalised
address is as valid under the old lower-casing rule as it is under the new one.
"""

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.kit.db

revision: str = "4b8d0f2c6e31"
down_revision: str | None = "3a7c9e1b5d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MAX_EMAIL_LENGTH = 320
_BATCH = 1000

_users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("created_at", switchboard.kit.db.UTCDateTime(timezone=True)),
)


def normalise(email: str) -> str:
    """`core.accounts.rules.lookup_email` as of this revision (copied: a migration must
    keep doing what it did when the rule changes later)."""
    folded = unicodedata.normalize("NFKC", email).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def plan(rows: Sequence[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """For rows (id, email), oldest first: the new e-mail of each row that changes, and
    the ids of rows left as they are because another row keeps their normalised address
    (or it would not fit the column)."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for user_id, email in rows:
        groups[normalise(email)].append((user_id, email))
    held = {email for _, email in rows}
    changes: dict[str, str] = {}
    left: list[str] = []
    for target, members in groups.items():
        holder = next((m for m in members if m[1] == target), None)
        winner = holder or members[0]
        left.extend(user_id for user_id, _ in members if user_id != winner[0])
        if winner[1] == target:
            continue
        # Taken by a row outside the group (only if normalising were not idempotent),
        # or too long for the column: leave the row alone rather than fail.
        if target in held or len(target) > MAX_EMAIL_LENGTH:
            left.append(winner[0])
            continue
        changes[winner[0]] = target
    return changes, left


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_users.c.id, _users.c.email).order_by(_users.c.created_at, _users.c.id)
    ).all()
    changes, left = plan([(user_id, email) for user_id, email in rows])
    update = (
        _users.update()
        .where(_users.c.id == sa.bindparam("user_id"))
        .values(email=sa.bindparam("new_email"))
    )
    params = [{"user_id": u, "new_email": e} for u, e in changes.items()]
    for start in range(0, len(params), _BATCH):
        bind.execute(update, params[start : start + _BATCH])
    if left:
        # Ids only: addresses are personal data and do not belong in deployment logs.
        log.warning(
            "users.email normalisation left %d account(s) unchanged because another "
            "account keeps their normalised address: %s",
            len(left),
            ", ".join(sorted(left)),
        )


def downgrade() -> None:
    # The original spellings are gone; normalised addresses are valid under the old rule.
    pass
