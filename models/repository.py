"""Queries the services share. Each takes the caller's session: one transaction per action."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from models.tables import (
    Answer,
    AnswerRevision,
    ConversationState,
    Draft,
    ErrorReport,
    Opd,
    User,
)
from models.types import utcnow

IDLE = "idle"


def get_state(session: Session, user_id: int) -> ConversationState:
    """The user's place in a flow, locked for this transaction (a new idle one if none)."""
    state = session.get(ConversationState, user_id, with_for_update=True)
    if state is None:
        state = ConversationState(user_id=user_id, flow=IDLE)
        session.add(state)
    return state


def set_flow(
    state: ConversationState,
    flow: str,
    *,
    step: str | None = None,
    draft_id: int | None = None,
    section_key: str | None = None,
    data: dict | None = None,
) -> None:
    state.flow = flow
    state.step = step
    state.draft_id = draft_id
    state.section_key = section_key
    state.data = dict(data or {})
    state.updated_at = utcnow()


def clear_flow(state: ConversationState) -> None:
    set_flow(state, IDLE)


def owned_draft(session: Session, user_id: int, draft_id: int) -> Draft | None:
    """The draft if this user owns it; None for a missing draft or someone else's."""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.owner_id != user_id:
        return None
    return draft


def drafts_of(session: Session, user_id: int) -> list[Draft]:
    query = select(Draft).where(Draft.owner_id == user_id)
    return list(session.exec(query.order_by(col(Draft.updated_at).desc(), col(Draft.id).desc())))


def answers_of(session: Session, draft_id: int) -> dict[str, str]:
    rows = session.exec(select(Answer).where(Answer.draft_id == draft_id))
    return {row.section_key: row.value for row in rows}


def answers_of_many(session: Session, draft_ids: list[int]) -> dict[int, dict[str, str]]:
    result: dict[int, dict[str, str]] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        rows = session.exec(select(Answer).where(col(Answer.draft_id).in_(draft_ids)))
        for row in rows:
            result[row.draft_id][row.section_key] = row.value
    return result


def store_answer(
    session: Session, draft: Draft, section_key: str, value: str, keep_revisions: int | None = None
) -> bool:
    """Insert or replace an answer; a replaced text is kept as a revision, at most the newest
    `keep_revisions` of them per section (None: all). True if changed."""
    assert draft.id is not None
    now = utcnow()
    query = select(Answer).where(Answer.draft_id == draft.id, Answer.section_key == section_key)
    answer = session.exec(query).first()
    if answer is not None and answer.value == value:
        return False
    if answer is None:
        session.add(Answer(draft_id=draft.id, section_key=section_key, value=value, updated_at=now))
    else:
        session.add(
            AnswerRevision(
                draft_id=draft.id, section_key=section_key, value=answer.value, replaced_at=now
            )
        )
        answer.value = value
        answer.updated_at = now
        session.add(answer)
        if keep_revisions is not None:
            prune_revisions(session, draft.id, section_key, keep_revisions)
    draft.updated_at = now
    session.add(draft)
    return True


def prune_revisions(session: Session, draft_id: int, section_key: str, keep: int) -> None:
    """Drop a section's revisions beyond the newest `keep` (one statement)."""
    session.flush()
    of_section = (
        col(AnswerRevision.draft_id) == draft_id,
        col(AnswerRevision.section_key) == section_key,
    )
    newest = (
        select(AnswerRevision.id)
        .where(*of_section)
        .order_by(col(AnswerRevision.id).desc())
        .limit(keep)
    )
    session.exec(delete(AnswerRevision).where(*of_section, col(AnswerRevision.id).not_in(newest)))


def revisions_count(session: Session, draft_id: int, section_key: str) -> int:
    query = select(func.count()).where(
        AnswerRevision.draft_id == draft_id, AnswerRevision.section_key == section_key
    )
    return session.exec(query).one()


def delete_draft(session: Session, draft: Draft) -> None:
    # Explicit deletes as well as ON DELETE CASCADE, for SQLite files created without it.
    session.exec(delete(Answer).where(col(Answer.draft_id) == draft.id))
    session.exec(delete(AnswerRevision).where(col(AnswerRevision.draft_id) == draft.id))
    session.delete(draft)


def active_opds(session: Session) -> list[Opd]:
    return list(session.exec(select(Opd).where(Opd.active).order_by(col(Opd.name))))


def registered(user: User | None) -> bool:
    return bool(user and user.consent_at and user.full_name and user.opd_id)


def claim_error_report(session: Session, kind: str, now: datetime, interval: timedelta) -> bool:
    """True if the admins were not told of this kind of error within `interval` (and it is
    now recorded as told). One conditional UPDATE decides between processes on both
    databases (SQLite ignores FOR UPDATE); two first reports at once meet the primary key
    instead (the caller's IntegrityError)."""
    renewed = session.exec(
        update(ErrorReport)
        .where(col(ErrorReport.kind) == kind, col(ErrorReport.reported_at) <= now - interval)
        .values(reported_at=now)
    )
    if renewed.rowcount:
        return True
    if session.get(ErrorReport, kind) is not None:
        return False
    session.add(ErrorReport(kind=kind, reported_at=now))
    session.flush()
    return True


def opd_of(session: Session, user_id: int | None) -> Opd | None:
    user = session.get(User, user_id) if user_id is not None else None
    return session.get(Opd, user.opd_id) if user is not None and user.opd_id else None


def popular_answers_in_opd(
    session: Session, section_key: str, opd_id: int, limit: int = 10
) -> list[str]:
    """The values the office's people most often gave for a section, most frequent first."""
    count = func.count(col(Answer.id))
    query = (
        select(Answer.value, count)
        .join(Draft, col(Draft.id) == col(Answer.draft_id))
        .join(User, col(User.id) == col(Draft.owner_id))
        .where(Answer.section_key == section_key, User.opd_id == opd_id)
        .group_by(col(Answer.value))
        .order_by(count.desc(), col(Answer.value))
        .limit(limit)
    )
    return [value for value, _ in session.exec(query)]


def count_drafts_of(session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Draft).where(col(Draft.owner_id) == user_id)
    ).one()
