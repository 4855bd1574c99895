"""Competitions, their deadlines, who follows them, and every reminder's delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


def _created_at() -> datetime:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _user_fk(index: bool = True) -> int:
    return Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=index
        )
    )


def _competition_fk() -> int:
    return Field(
        sa_column=Column(
            Integer, ForeignKey("competitions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class Competition(SQLModel, table=True):
    __tablename__ = "competitions"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    organiser: str = Field(max_length=200)
    level: str = Field(max_length=40)
    year: int
    created_at: datetime = _created_at()


class Stage(SQLModel, table=True):
    """One deadline of a competition, e.g. "Batas input profil inovasi"."""

    __tablename__ = "competition_stages"

    id: int | None = Field(default=None, primary_key=True)
    competition_id: int = _competition_fk()
    name: str = Field(max_length=200)
    deadline_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = _created_at()


class DraftLink(SQLModel, table=True):
    """A draft entered in a competition; reminders stop once it is marked submitted."""

    __tablename__ = "draft_competitions"
    __table_args__ = (UniqueConstraint("draft_id", "competition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    competition_id: int = _competition_fk()
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    linked_at: datetime = _created_at()


class Follow(SQLModel, table=True):
    __tablename__ = "competition_follows"
    __table_args__ = (UniqueConstraint("user_id", "competition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _user_fk()
    competition_id: int = _competition_fk()
    created_at: datetime = _created_at()


class ReminderMute(SQLModel, table=True):
    """Muted reminders: of one competition, or of all (competition_id 0 means all)."""

    __tablename__ = "reminder_mutes"
    __table_args__ = (UniqueConstraint("user_id", "competition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _user_fk()
    competition_id: int = Field(default=0)
    created_at: datetime = _created_at()


class ReminderDelivery(SQLModel, table=True):
    """One reminder (user × deadline × offset): claimed before sending, so never sent twice.

    status: sending (claimed; counts as sent if the process died before the answer), sent,
    blocked (403), failed (retried while within the grace period), skipped (too late).
    """

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("user_id", "stage_id", "offset_days"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    stage_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("competition_stages.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    offset_days: int
    fire_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    updated_at: datetime = _created_at()
