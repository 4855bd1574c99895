"""Consultations: mentors and their invites, requests routed to them, the relayed conversation,
scheduled sessions, comments on drafts, the history of every state change, and the delivery
records that keep scheduled notices from being sent twice.

The queries here that must be atomic across processes (claiming a consultation, using an
invite, claiming a delivery) are single conditional UPDATEs whose row count says who won.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    update,
)
from sqlalchemy.orm import object_session
from sqlmodel import Field, Session, SQLModel, col, select

from models.tables import Draft, User
from models.types import UTCDateTime, created_at_field, user_fk_field

__all__ = [
    "Consultation",
    "ConsultationComment",
    "ConsultationEvent",
    "ConsultationEventPerson",
    "ConsultationNotice",
    "ConsultationOffer",
    "ConsultationSession",
    "Mentor",
    "MentorInvite",
    "RelayedMessage",
    "SessionReminder",
]

# Consultation states (see bot/services/consultations/lifecycle.py for the transitions).
OPEN = "open"
ASSIGNED = "assigned"
SCHEDULED = "scheduled"
CLOSED = "closed"
CANCELLED = "cancelled"
EXPIRED = "expired"
ACTIVE_STATES = (ASSIGNED, SCHEDULED)
LIVE_STATES = (OPEN, ASSIGNED, SCHEDULED)

# Offer states.
OFFERED = "offered"
ACCEPTED = "accepted"
DECLINED = "declined"
TAKEN = "taken"  # another mentor accepted first, or the request ended

# Session states.
PROPOSED = "proposed"
CONFIRMED = "confirmed"
REJECTED = "rejected"  # the ASN asked for another time
SUPERSEDED = "superseded"  # a newer proposal replaced it
VOID = "void"  # the consultation ended or changed mentor


def _consultation_fk() -> Any:
    return Field(
        sa_column=Column(
            Integer, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class Mentor(SQLModel, table=True):
    """A clinic coach. `expertise` holds option texts (bentuk inovasi and urusan)."""

    __tablename__ = "mentors"

    user_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    expertise: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # How many assigned or scheduled consultations they take at once.
    capacity: int = Field(default=3)
    paused: bool = Field(default=False)
    active: bool = Field(default=True)
    # False once a relay or an offer to them answered 403; set again when they act in the bot.
    reachable: bool = Field(default=True)
    invited_by: int | None = user_fk_field(ondelete="SET NULL", nullable=True, index=False)
    joined_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class MentorInvite(SQLModel, table=True):
    """A single-use invitation link (t.me/<bot>?start=mentor-<token>)."""

    __tablename__ = "mentor_invites"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True, index=True)
    # An admin's Telegram id, or None when made on the command line.
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_by: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Consultation(SQLModel, table=True):
    """An ASN's request for coaching, from open to closed, cancelled or expired."""

    __tablename__ = "consultations"

    id: int | None = Field(default=None, primary_key=True)
    asn_id: int = user_fk_field()
    mentor_id: int | None = user_fk_field(ondelete="SET NULL", nullable=True)
    draft_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("drafts.id", ondelete="SET NULL"), nullable=True),
    )
    # An expertise option (bentuk inovasi or urusan), or "" for a general question.
    topic: str = Field(default="", max_length=200)
    question: str = Field(sa_column=Column(Text, nullable=False))
    preferred_times: str | None = Field(default=None, max_length=300)
    status: str = Field(default=OPEN, max_length=16, index=True)
    # Announcement round (1 = first routing); the expiry clock runs from announced_at.
    announce_round: int = Field(default=1)
    announced_at: datetime = created_at_field()
    summary: str | None = Field(default=None, sa_column=Column(Text))
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text))
    rating: int | None = Field(default=None)
    rating_comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ConsultationOffer(SQLModel, table=True):
    """A consultation offered to one mentor: what they may see, and what they answered."""

    __tablename__ = "consultation_offers"
    __table_args__ = (UniqueConstraint("consultation_id", "mentor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    mentor_id: int = user_fk_field()
    round: int = Field(default=1)
    status: str = Field(default=OFFERED, max_length=16)
    offered_at: datetime = created_at_field()
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ConsultationEvent(SQLModel, table=True):
    """One line of a consultation's history: what happened, when, and who did it."""

    __tablename__ = "consultation_events"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    at: datetime = created_at_field()
    # None: the system (routing, expiry), or (by_person) someone who deleted their account.
    actor_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    by_person: bool = Field(default=False)
    action: str = Field(max_length=30)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    detail: str | None = Field(default=None, sa_column=Column(Text))


class ConsultationEventPerson(SQLModel, table=True):
    """A person an event is about (the mentors a request was offered to, the mentors of a
    reassignment): a reference, so the history shows today's name, and nothing once the person
    deleted their account (user_id cleared, the line kept)."""

    __tablename__ = "consultation_event_people"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("consultation_events.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    # offered, from (the previous mentor), to (the new mentor)
    role: str = Field(max_length=16)
    user_id: int | None = user_fk_field(ondelete="SET NULL", nullable=True)


class ConsultationSession(SQLModel, table=True):
    """A meeting time the mentor proposed; reminders go out once the ASN confirms it."""

    __tablename__ = "consultation_sessions"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    note: str | None = Field(default=None, max_length=200)
    status: str = Field(default=PROPOSED, max_length=16)
    # The mentor who proposed it; cleared if they delete their account.
    proposed_by: int | None = user_fk_field(ondelete="SET NULL", nullable=True, index=False)
    created_at: datetime = created_at_field()
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ConsultationComment(SQLModel, table=True):
    """A mentor's comment on one section of the consulted draft."""

    __tablename__ = "consultation_comments"
    __table_args__ = (Index("ix_consultation_comments_section", "draft_id", "section_key"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    draft_id: int = Field(
        sa_column=Column(Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False)
    )
    section_key: str = Field(max_length=60)
    mentor_id: int | None = user_fk_field(ondelete="SET NULL", nullable=True, index=False)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()


class RelayedMessage(SQLModel, table=True):
    """A message passed from one side of a consultation to the other.

    The pair of ids lets a Telegram reply to the copy find its consultation, and the copy
    thread under the right message, after a restart too.
    """

    __tablename__ = "relayed_messages"
    __table_args__ = (
        Index("ix_relayed_messages_source", "from_chat_id", "from_message_id"),
        Index("ix_relayed_messages_copy", "to_chat_id", "to_message_id"),
        Index("ix_relayed_messages_header", "to_chat_id", "header_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    from_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    from_message_id: int
    to_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    to_message_id: int | None = Field(default=None)
    # The header sent before the copy ("who, which consultation"): a reply to it routes too.
    header_message_id: int | None = Field(default=None)
    # sent, failed (after retries) or blocked (403).
    status: str = Field(max_length=16)
    created_at: datetime = created_at_field()


class SessionReminder(SQLModel, table=True):
    """One reminder (session × person × offset), claimed before sending: never sent twice.

    status: sending (claimed; counts as sent if the process died before the answer), sent,
    blocked (403), failed (retried until the session starts), skipped (a later one was due).
    """

    __tablename__ = "consultation_reminders"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "offset_minutes"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("consultation_sessions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset_minutes: int
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    updated_at: datetime = created_at_field()


class ConsultationNotice(SQLModel, table=True):
    """An announcement written by the expiry job (re-announcement, expiry) and delivered by it.

    Written in the same transaction as the state change that causes it, so a crash between the
    two can neither lose the notice nor send it twice (status as for SessionReminder, plus
    pending: not yet tried).
    """

    __tablename__ = "consultation_notices"
    __table_args__ = (UniqueConstraint("consultation_id", "kind", "round", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = _consultation_fk()
    kind: str = Field(max_length=20)
    round: int
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


# ---- queries ------------------------------------------------------------------------------------


def move(
    session: Session,
    consultation: Consultation,
    from_states: Iterable[str],
    to_state: str,
    now: datetime,
    extra_where: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Change a consultation's state if it is still in one of `from_states`.

    One conditional UPDATE: the database re-checks the state under the writer's lock, so of
    two people acting at the same moment (two mentors accepting, a close racing a cancel)
    exactly one wins; the loser sees False and the row as the winner left it.
    """
    session.flush()
    conditions = [
        col(Consultation.id) == consultation.id,
        col(Consultation.status).in_(list(from_states)),
        *(getattr(Consultation, name) == value for name, value in (extra_where or {}).items()),
    ]
    result = session.execute(
        update(Consultation)
        .where(*conditions)
        .values(status=to_state, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(consultation)
    return result.rowcount == 1


def use_invite(session: Session, invite_id: int, user_id: int, now: datetime) -> bool:
    """Mark an invite used by this user, if it is still unused and unexpired (atomic)."""
    result = session.execute(
        update(MentorInvite)
        .where(
            col(MentorInvite.id) == invite_id,
            col(MentorInvite.used_at).is_(None),
            col(MentorInvite.expires_at) > now,
        )
        .values(used_by=user_id, used_at=now)
    )
    return result.rowcount == 1


def open_counts(session: Session, mentor_ids: list[int]) -> dict[int, int]:
    """Assigned or scheduled consultations per mentor."""
    counts = dict.fromkeys(mentor_ids, 0)
    if mentor_ids:
        query = (
            select(Consultation.mentor_id, func.count())
            .where(
                col(Consultation.mentor_id).in_(mentor_ids),
                col(Consultation.status).in_(ACTIVE_STATES),
            )
            .group_by(Consultation.mentor_id)
        )
        for mentor_id, count in session.exec(query):
            counts[mentor_id] = count
    return counts


def available_mentors(session: Session, exclude: int | None = None) -> list[Mentor]:
    """Active, unpaused mentors Telegram can reach, oldest first."""
    query = (
        select(Mentor)
        .join(User, col(User.id) == col(Mentor.user_id))
        .where(col(Mentor.active), ~col(Mentor.paused), col(Mentor.reachable), col(User.reachable))
        .order_by(col(Mentor.joined_at), col(Mentor.user_id))
    )
    return [m for m in session.exec(query) if m.user_id != exclude]


def active_mentor_ids(session: Session) -> list[int]:
    return list(session.exec(select(Mentor.user_id).where(col(Mentor.active).is_(True))))


def invite_by_token(session: Session, token: str) -> MentorInvite | None:
    return session.exec(select(MentorInvite).where(MentorInvite.token == token)).first()


def all_mentors(session: Session) -> list[Mentor]:
    """Every mentor, active ones first."""
    query = select(Mentor).order_by(col(Mentor.active).desc(), col(Mentor.joined_at))
    return list(session.exec(query))


def offer_of(session: Session, consultation_id: int, mentor_id: int) -> ConsultationOffer | None:
    query = select(ConsultationOffer).where(
        ConsultationOffer.consultation_id == consultation_id,
        ConsultationOffer.mentor_id == mentor_id,
    )
    return session.exec(query).first()


def offers_of(session: Session, consultation_id: int) -> list[ConsultationOffer]:
    query = select(ConsultationOffer).where(ConsultationOffer.consultation_id == consultation_id)
    return list(session.exec(query.order_by(col(ConsultationOffer.id))))


def notice_of(
    session: Session, consultation_id: int, kind: str, round_: int, user_id: int
) -> ConsultationNotice | None:
    query = select(ConsultationNotice).where(
        ConsultationNotice.consultation_id == consultation_id,
        ConsultationNotice.kind == kind,
        ConsultationNotice.round == round_,
        ConsultationNotice.user_id == user_id,
    )
    return session.exec(query).first()


def consultations_newest_first(session: Session, asn_id: int | None = None) -> list[Consultation]:
    """Every consultation, or with `asn_id` that ASN's own requests."""
    query = select(Consultation)
    if asn_id is not None:
        query = query.where(Consultation.asn_id == asn_id)
    return list(session.exec(query.order_by(col(Consultation.id).desc())))


def consultations_of_mentor(session: Session, mentor_id: int) -> list[Consultation]:
    """Assigned to this mentor, or open and offered to them (still waiting for an answer)."""
    offered = select(ConsultationOffer.consultation_id).where(
        ConsultationOffer.mentor_id == mentor_id, ConsultationOffer.status == OFFERED
    )
    query = select(Consultation).where(
        (col(Consultation.mentor_id) == mentor_id)
        | ((col(Consultation.status) == OPEN) & col(Consultation.id).in_(offered))
    )
    return list(session.exec(query.order_by(col(Consultation.id).desc())))


def requests_waiting_for(session: Session, mentor_id: int) -> list[Consultation]:
    """Open requests of other people that this mentor has neither open before them nor
    declined, oldest first."""
    answered = select(ConsultationOffer.consultation_id).where(
        ConsultationOffer.mentor_id == mentor_id,
        col(ConsultationOffer.status).in_([OFFERED, DECLINED]),
    )
    query = select(Consultation).where(
        Consultation.status == OPEN,
        Consultation.asn_id != mentor_id,
        ~col(Consultation.id).in_(answered),
    )
    return list(session.exec(query.order_by(col(Consultation.id))))


def events_of(session: Session, consultation_id: int) -> list[ConsultationEvent]:
    query = select(ConsultationEvent).where(ConsultationEvent.consultation_id == consultation_id)
    return list(session.exec(query.order_by(col(ConsultationEvent.at), col(ConsultationEvent.id))))


def people_of(session: Session, event_ids: list[int]) -> dict[int, list[ConsultationEventPerson]]:
    """The people each event is about, in the order they were recorded."""
    found: dict[int, list[ConsultationEventPerson]] = {}
    if event_ids:
        query = select(ConsultationEventPerson).where(
            col(ConsultationEventPerson.event_id).in_(event_ids)
        )
        for person in session.exec(query.order_by(col(ConsultationEventPerson.id))):
            found.setdefault(person.event_id, []).append(person)
    return found


def sessions_of(session: Session, consultation_id: int) -> list[ConsultationSession]:
    query = select(ConsultationSession).where(
        ConsultationSession.consultation_id == consultation_id
    )
    return list(session.exec(query.order_by(col(ConsultationSession.starts_at))))


def comments_on(session: Session, draft_id: int, section_key: str, limit: int = 3) -> list[Any]:
    """The latest comments on one section of a draft, newest last, with the mentor's name."""
    query = (
        select(ConsultationComment, User.full_name)
        .join(User, col(User.id) == col(ConsultationComment.mentor_id), isouter=True)
        .where(
            ConsultationComment.draft_id == draft_id,
            ConsultationComment.section_key == section_key,
        )
        .order_by(col(ConsultationComment.created_at).desc(), col(ConsultationComment.id).desc())
        .limit(limit)
    )
    return list(reversed(session.exec(query).all()))


def section_comments(draft: Draft, section_key: str) -> list[dict[str, Any]]:
    """Mentors' comments on a section, for the drafting question (read in the caller's
    transaction: the session the draft was loaded in)."""
    session = object_session(draft)
    if session is None or draft.id is None:
        return []
    rows = comments_on(session, draft.id, section_key)  # type: ignore[arg-type]
    return [
        {"mentor": name, "text": comment.text, "at": comment.created_at} for comment, name in rows
    ]


def relay_by_copy(session: Session, chat_id: int, message_id: int) -> RelayedMessage | None:
    """The relay whose copy, header or source is this message of this chat."""
    query = select(RelayedMessage).where(
        RelayedMessage.to_chat_id == chat_id,
        (col(RelayedMessage.to_message_id) == message_id)
        | (col(RelayedMessage.header_message_id) == message_id),
    )
    found = session.exec(query).first()
    if found is not None:
        return found
    return next(iter(relays_from(session, chat_id, message_id)), None)


def relays_from(
    session: Session, chat_id: int, message_id: int, status: str | None = None
) -> list[RelayedMessage]:
    """The relays of this message of this chat, first first; with `status`, only those in it
    ("sent": the copies that exist). Any relay at all means it was passed on (or tried: a
    failure was reported)."""
    query = select(RelayedMessage).where(
        RelayedMessage.from_chat_id == chat_id, RelayedMessage.from_message_id == message_id
    )
    if status is not None:
        query = query.where(RelayedMessage.status == status)
    return list(session.exec(query.order_by(col(RelayedMessage.id))))


def count_live_requests_of(session: Session, asn_id: int) -> int:
    """Consultations of one ASN not yet finished (the open-request limit counts these)."""
    return session.exec(
        select(func.count())
        .select_from(Consultation)
        .where(col(Consultation.asn_id) == asn_id, col(Consultation.status).in_(LIVE_STATES))
    ).one()
