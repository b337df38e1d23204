"""comfyui sessions, workflows and generations

Revision ID: 9a3e5c7d1f26
Revises: 8f2d4b6c0e15
Create Date: 2026-12-07 19:10:00.000000

Spoon Feeder's ComfyUI workspace: workflows, sessions, generations (each with the exact
graph it submitted) and the output images, whose bytes are media files.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.kit.db

revision: str = "9a3e5c7d1f26"
down_revision: str | None = "8f2d4b6c0e15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comfy_workflows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workflow_json", sa.JSON(), nullable=False),
        sa.Column("default_parameters", sa.JSON(), nullable=False),
        sa.Column("extracted_parameters", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comfy_workflows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comfy_workflows")),
    )
    with op.batch_alter_table("comfy_workflows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comfy_workflows_user_created", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comfy_workflows_user_id"), ["user_id"], unique=False)

    op.create_table(
        "comfy_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("current_workflow_id", sa.String(length=36), nullable=True),
        sa.Column("last_parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_workflow_id"],
            ["comfy_workflows.id"],
            name=op.f("fk_comfy_sessions_current_workflow_id_comfy_workflows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comfy_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comfy_sessions")),
    )
    with op.batch_alter_table("comfy_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comfy_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "ix_comfy_sessions_user_updated", ["user_id", "updated_at"], unique=False
        )

    op.create_table(
        "comfy_generations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("prompt_id", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("prompt_text", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("cfg_scale", sa.Double(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("sampler_name", sa.String(length=100), nullable=True),
        sa.Column("scheduler", sa.String(length=100), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("checkpoint_name", sa.String(length=500), nullable=True),
        sa.Column("loras_used", sa.JSON(), nullable=False),
        sa.Column("workflow_json", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("generation_time_seconds", sa.Double(), nullable=True),
        sa.Column("completed_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_comfy_generations_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["comfy_sessions.id"],
            name=op.f("fk_comfy_generations_session_id_comfy_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comfy_generations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["comfy_workflows.id"],
            name=op.f("fk_comfy_generations_workflow_id_comfy_workflows"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comfy_generations")),
    )
    with op.batch_alter_table("comfy_generations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comfy_generations_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_comfy_generations_session", ["session_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_comfy_generations_user_created", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comfy_generations_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_comfy_generations_workflow", ["workflow_id"], unique=False)

    op.create_table(
        "comfy_outputs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("generation_id", sa.String(length=36), nullable=False),
        sa.Column("media_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("subfolder", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["comfy_generations.id"],
            name=op.f("fk_comfy_outputs_generation_id_comfy_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_files.id"],
            name=op.f("fk_comfy_outputs_media_id_media_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comfy_outputs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comfy_outputs")),
    )
    with op.batch_alter_table("comfy_outputs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comfy_outputs_generation", ["generation_id", "position"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comfy_outputs_media_id"), ["media_id"], unique=False)
        batch_op.create_index(
            "ix_comfy_outputs_user_filename", ["user_id", "filename"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comfy_outputs_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comfy_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comfy_outputs_user_id"))
        batch_op.drop_index("ix_comfy_outputs_user_filename")
        batch_op.drop_index(batch_op.f("ix_comfy_outputs_media_id"))
        batch_op.drop_index("ix_comfy_outputs_generation")

    op.drop_table("comfy_outputs")
    with op.batch_alter_table("comfy_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_comfy_generations_workflow")
        batch_op.drop_index(batch_op.f("ix_comfy_generations_user_id"))
        batch_op.drop_index("ix_comfy_generations_user_created")
        batch_op.drop_index("ix_comfy_generations_session")
        batch_op.drop_index(batch_op.f("ix_comfy_generations_job_id"))

    op.drop_table("comfy_generations")
    with op.batch_alter_table("comfy_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_comfy_sessions_user_updated")
        batch_op.drop_index(batch_op.f("ix_comfy_sessions_user_id"))

    op.drop_table("comfy_sessions")
    with op.batch_alter_table("comfy_workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comfy_workflows_user_id"))
        batch_op.drop_index("ix_comfy_workflows_user_created")

    op.drop_table("comfy_workflows")
