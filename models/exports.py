"""The export requests table (an XLSX export asked for in the chat, built in the background)
and the queries over it. Imports nothing but models.types: models/readiness.py re-exports
`ExportRequest`, and models/tables.py registers it through that."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, ForeignKey, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from models.types import UTCDateTime, optional_time_field, utcnow

__all__ = ["WAITING", "ExportRequest", "claim_export", "export_in_progress", "waiting_exports"]

WAITING = ("pending", "running")


class ExportRequest(SQLModel, table=True):
    """An XLSX export for an admin: pending, running, done or failed."""

    __tablename__ = "export_requests"

    id: int | None = Field(default=None, primary_key=True)
    # The admin's Telegram id; their rows go when their account is deleted (UU PDP).
    admin_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: str = Field(default="pending", max_length=16)
    requested_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    started_at: datetime | None = optional_time_field()
    finished_at: datetime | None = optional_time_field()


def export_in_progress(session: Session, admin_id: int) -> ExportRequest | None:
    """The admin's export that is waiting or being built, if any."""
    return session.exec(
        select(ExportRequest).where(
            ExportRequest.admin_id == admin_id, col(ExportRequest.status).in_(WAITING)
        )
    ).first()


def waiting_exports(session: Session) -> list[ExportRequest]:
    """Every export that is pending or running (a running one may have died)."""
    return list(session.exec(select(ExportRequest).where(col(ExportRequest.status).in_(WAITING))))


def claim_export(session: Session, now: datetime, stale_after: timedelta) -> ExportRequest | None:
    """Take the oldest waiting export (or one whose process died, started before `stale_after`);
    a conditional update per candidate, so of two processes only one gets a given export."""
    candidates = session.exec(
        select(ExportRequest.id)
        .where(col(ExportRequest.status).in_(WAITING))
        .order_by(col(ExportRequest.id))
    ).all()
    for request_id in candidates:
        claimed = session.execute(
            update(ExportRequest)
            .where(
                col(ExportRequest.id) == request_id,
                col(ExportRequest.status).in_(WAITING),
                or_(
                    col(ExportRequest.started_at).is_(None),
                    col(ExportRequest.started_at) < now - stale_after,
                ),
            )
            .values(status="running", started_at=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            session.expire_all()
            return session.get(ExportRequest, request_id)
    return None
