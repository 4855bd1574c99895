"""Tables of the readiness check and the coordinator's tools.

- `draft_indicators`: the IID evidence an ASN ticked for a draft, with the level it reaches.
- `broadcasts` / `broadcast_deliveries` live in models/broadcasts.py (re-exported here for the
  code that still imports them from this module).
- `export_requests`: in models/exports.py (re-exported here).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from models.broadcasts import Broadcast, BroadcastDelivery
from models.types import created_at_field

__all__ = [
    "Broadcast",
    "BroadcastDelivery",
    "DraftIndicator",
    "ExportRequest",
    "set_indicator_level",
    "ticked_indicators_of",
    "ticked_indicators_of_many",
]


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


def ticked_indicators_of(session: Session, draft_id: int) -> dict[str, int]:
    """A draft's ticked indicators: key → level."""
    rows = session.exec(select(DraftIndicator).where(DraftIndicator.draft_id == draft_id))
    return {row.indicator_key: row.level for row in rows if row.level > 0}


def ticked_indicators_of_many(session: Session, draft_ids: list[int]) -> dict[int, dict[str, int]]:
    """The same for many drafts in one query: draft id → key → level."""
    result: dict[int, dict[str, int]] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        query = select(DraftIndicator).where(col(DraftIndicator.draft_id).in_(draft_ids))
        for row in session.exec(query):
            if row.level > 0:
                result[row.draft_id][row.indicator_key] = row.level
    return result


def set_indicator_level(
    session: Session, draft_id: int, key: str, level: int, now: datetime
) -> None:
    """Store the level ticked for one indicator; level 0 removes the tick."""
    row = session.exec(
        select(DraftIndicator).where(
            DraftIndicator.draft_id == draft_id, DraftIndicator.indicator_key == key
        )
    ).first()
    if level == 0 and row is not None:
        session.delete(row)
    elif level:
        row = row or DraftIndicator(draft_id=draft_id, indicator_key=key, level=level)
        row.level = level
        row.updated_at = now
        session.add(row)
    session.flush()


# Moved to models/exports.py; re-exported so models/tables.py and older imports still find it.
from models.exports import ExportRequest  # noqa: E402
