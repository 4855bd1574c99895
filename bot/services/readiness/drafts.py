"""The readiness of stored drafts: the IID levels an ASN ticked, read and written."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.services.formats import ProposalFormat
from bot.services.readiness.assessment import Readiness, assess_readiness
from models import repository as repo
from models.readiness import DraftIndicator


def ticked_indicators_of(session: Session, draft_id: int) -> dict[str, int]:
    rows = session.exec(select(DraftIndicator).where(DraftIndicator.draft_id == draft_id))
    return {row.indicator_key: row.level for row in rows if row.level > 0}


def ticked_indicators_of_many(session: Session, draft_ids: list[int]) -> dict[int, dict[str, int]]:
    result: dict[int, dict[str, int]] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        query = select(DraftIndicator).where(col(DraftIndicator.draft_id).in_(draft_ids))
        for row in session.exec(query):
            if row.level > 0:
                result[row.draft_id][row.indicator_key] = row.level
    return result


def readiness_of_draft(session: Session, fmt: ProposalFormat, draft_id: int) -> Readiness:
    return assess_readiness(
        fmt, repo.answers_of(session, draft_id), ticked_indicators_of(session, draft_id)
    )


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
