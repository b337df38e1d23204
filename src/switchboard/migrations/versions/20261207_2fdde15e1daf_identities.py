"""identities: external issuers' subjects linked to users, replacing users.google_sub

Revision ID: 2fdde15e1daf
Revises: c1337a1312ad
Create Date: 2026-12-07 09:06:10.316137
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.kit.db
from switchboard.kit.clock import utcnow
from switchboard.kit.ids import new_id

revision: str = "2fdde15e1daf"
down_revision: str | None = "c1337a1312ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What every Google link was made with until now (the verifier's canonical issuer).
GOOGLE_ISSUER = "https://accounts.google.com"
_BATCH = 1000

_users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("google_sub", sa.String),
    sa.column("created_at", switchboard.kit.db.UTCDateTime(timezone=True)),
)
_identities = sa.table(
    "identities",
    sa.column("id", sa.String),
    sa.column("issuer", sa.String),
    sa.column("subject", sa.String),
    sa.column("user_id", sa.String),
    sa.column("email", sa.String),
    sa.column("created_at", switchboard.kit.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_identities_issuer_subject")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_user_id"), ["user_id"], unique=False)

    _copy_google_links()

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_google_sub"), type_="unique")
        batch_op.drop_column("google_sub")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_sub", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_google_sub"), ["google_sub"])

    _restore_google_links()

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_user_id"))
    op.drop_table("identities")


def _copy_google_links() -> None:
    # Ids are made here rather than in SQL: UUID functions differ between the databases.
    bind = op.get_bind()
    linked = bind.execute(
        sa.select(_users.c.id, _users.c.email, _users.c.google_sub).where(
            _users.c.google_sub.is_not(None)
        )
    ).all()
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "issuer": GOOGLE_ISSUER,
            "subject": sub,
            "user_id": user_id,
            "email": email,
            "created_at": now,
        }
        for user_id, email, sub in linked
    ]
    for start in range(0, len(rows), _BATCH):
        bind.execute(_identities.insert(), rows[start : start + _BATCH])


def _restore_google_links() -> None:
    # users.google_sub holds one subject per user: the oldest Google link wins.
    bind = op.get_bind()
    links = bind.execute(
        sa.select(_identities.c.user_id, _identities.c.subject)
        .where(_identities.c.issuer == GOOGLE_ISSUER)
        .order_by(_identities.c.created_at.desc(), _identities.c.id.desc())
    ).all()
    oldest = {user_id: subject for user_id, subject in links}
    if not oldest:
        return
    restore = (
        _users.update()
        .where(_users.c.id == sa.bindparam("user_id"))
        .values(google_sub=sa.bindparam("subject"))
    )
    bind.execute(restore, [{"user_id": u, "subject": s} for u, s in oldest.items()])
