"""comfy_outputs: the images a generation produced, by ComfyUI's name for each, and the
stored media file holding its bytes."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.kit.db import Base
from switchboard.models._columns import IdColumn, OwnerColumn


class ComfyOutput(Base):
    __tablename__ = "comfy_outputs"
    __table_args__ = (
        Index("ix_comfy_outputs_user_filename", "user_id", "filename"),
        Index("ix_comfy_outputs_generation", "generation_id", "position"),
    )

    id: Mapped[IdColumn]
    user_id: Mapped[OwnerColumn]
    generation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("comfy_generations.id", ondelete="CASCADE")
    )
    media_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("media_files.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    # As ComfyUI named the image; only ever matched, never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    subfolder: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[str] = mapped_column(String(16), default="output")
