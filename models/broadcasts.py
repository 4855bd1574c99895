"""Tables of the admin's broadcast and the queries over them.

- `broadcasts`: an admin's message to many users, from the first keystroke to its report.
- `broadcast_deliveries`: each recipient's delivery, claimed through the outbox
  (models/outbox.py) before sending so a restart never sends a message twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from models.types import created_at_field, optional_time_field, user_fk_field

__all__ = ["Broadcast", "BroadcastDelivery"]


class Broadcast(SQLModel, table=True):
    """An admin's message to many users.

    status: draft (being composed), sending (confirmed; deliveries pending), done (report sent),
    cancelled. audience: all, opd, competition; `audience_id` is the OPD or competition.
    """

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int = user_fk_field()
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    audience: str | None = Field(default=None, max_length=20)
    audience_id: int | None = Field(default=None)
    audience_label: str | None = Field(default=None, max_length=250)
    status: str = Field(default="draft", max_length=16)
    created_at: datetime = created_at_field()
    confirmed_at: datetime | None = optional_time_field()
    finished_at: datetime | None = optional_time_field()


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
    user_id: int = user_fk_field()
    status: str = Field(default="pending", max_length=16)
    updated_at: datetime = created_at_field()


def sending_ids(session: Session) -> list[int]:
    """Confirmed broadcasts whose deliveries are not all handled, oldest first."""
    query = select(Broadcast.id).where(Broadcast.status == "sending").order_by(col(Broadcast.id))
    return [i for i in session.exec(query) if i is not None]


def pending_recipients(session: Session, broadcast_id: int) -> list[int]:
    query = select(BroadcastDelivery.user_id).where(
        BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.status == "pending"
    )
    return list(session.exec(query.order_by(col(BroadcastDelivery.id))))


def pending_count(session: Session, broadcast_id: int) -> int:
    return session.exec(
        select(func.count()).where(
            BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.status == "pending"
        )
    ).one()


def status_counts(session: Session, broadcast_id: int) -> dict[str, int]:
    return dict(
        session.exec(
            select(BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(col(BroadcastDelivery.status))
        ).all()
    )
