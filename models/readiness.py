"""Tables of the readiness check and the coordinator's tools.

- `draft_indicators`: the IID evidence an ASN ticked for a draft, with the level it reaches.
- `broadcasts` / `broadcast_deliveries` live in models/broadcasts.py (re-exported here for the
  code that still imports them from this module).
- `export_requests`: in models/exports.py (re-exported here).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.broadcasts import Broadcast, BroadcastDelivery
from models.types import created_at_field

__all__ = ["Broadcast", "BroadcastDelivery", "DraftIndicator", "ExportRequest"]


class DraftIndicator(SQLModel, table=True):
    """One IID indicator the owner can show evidence for, at level 1–3."""

    __tablename__ = "draft_indicators"
    __table_args__ = (UniqueConstraint("draft_id", "indicator_key"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    indicator_key: str = Field(max_length=40)
    level: int
    updated_at: datetime = created_at_field()


# Moved to models/exports.py; re-exported so models/tables.py and older imports still find it.
from models.exports import ExportRequest  # noqa: E402
