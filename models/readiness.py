"""Tables of the readiness check and the coordinator's tools.

- `draft_indicators`: the IID evidence an ASN ticked for a draft, with the level it reaches.
- `broadcasts` / `broadcast_deliveries`: an admin's broadcast and each recipient's delivery,
  claimed before sending so a restart never sends a message twice.
- `export_requests`: in models/exports.py (re-exported here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

__all__ = ["Broadcast", "BroadcastDelivery", "DraftIndicator", "ExportRequest"]


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _optional_time() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def _user_fk() -> Any:
    """A user's Telegram id; their rows go when their account is deleted (UU PDP)."""
    return Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


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
    updated_at: datetime = _created_at()


class Broadcast(SQLModel, table=True):
    """An admin's message to many users.

    status: draft (being composed), sending (confirmed; deliveries pending), done (report sent),
    cancelled. audience: all, opd, competition; `audience_id` is the OPD or competition.
    """

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int = _user_fk()
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    audience: str | None = Field(default=None, max_length=20)
    audience_id: int | None = Field(default=None)
    audience_label: str | None = Field(default=None, max_length=250)
    status: str = Field(default="draft", max_length=16)
    created_at: datetime = _created_at()
    confirmed_at: datetime | None = _optional_time()
    finished_at: datetime | None = _optional_time()


class BroadcastDelivery(SQLModel, table=True):
    """One recipient of a broadcast: pending, sending (claimed), delivered, blocked, failed."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    user_id: int = _user_fk()
    status: str = Field(default="pending", max_length=16)
    updated_at: datetime = _created_at()


# Moved to models/exports.py; re-exported so models/tables.py and older imports still find it.
from models.exports import ExportRequest  # noqa: E402
