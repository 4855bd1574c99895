"""Limits that keep one account from filling the database or the mentors' queues.

Far above what one civil servant needs, they stop a script or a stuck client: at most
`max_drafts_per_user` drafts of one's own, `max_open_consultations` consultation requests not
yet finished (each is offered to up to five mentors), and `max_revisions_per_section` earlier
texts kept per section (the oldest beyond it are dropped: revisions are a safety net nobody
sees, and refusing to save a new answer would lose work). The numbers are settings.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services.replies import Button, Outcome, Reply, keyboard
from models.consultations import LIVE_STATES, Consultation
from models.tables import Draft

DEFAULT_MAX_DRAFTS = 20
DEFAULT_MAX_OPEN_CONSULTATIONS = 3
DEFAULT_MAX_REVISIONS = 20


def drafts_full(session: Session, user_id: int, limit: int) -> Outcome | None:
    """The answer for a user who may not start another draft, or None if they may."""
    count = session.exec(
        select(func.count()).select_from(Draft).where(col(Draft.owner_id) == user_id)
    ).one()
    if count < limit:
        return None
    buttons = keyboard([Button(data="d:l:0", label="my_drafts")])
    return Outcome().add(Reply("draft/limit_reached", {"count": count}, buttons))


def consultations_full(session: Session, user_id: int, limit: int) -> Outcome | None:
    """The answer for an ASN who may not ask for another consultation, or None if they may."""
    count = session.exec(
        select(func.count())
        .select_from(Consultation)
        .where(
            col(Consultation.asn_id) == user_id,
            col(Consultation.status).in_(LIVE_STATES),
        )
    ).one()
    if count < limit:
        return None
    buttons = keyboard([Button(data="k:l", label="consult_mine")])
    return Outcome().add(Reply("consult/limit_reached", {"count": count}, buttons))
