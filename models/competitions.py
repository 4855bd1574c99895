"""Competitions, their deadlines, who follows them, and every reminder's delivery; and the
queries the competitions feature runs over them (plain functions taking a `Session` first)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, UniqueConstraint, delete, func
from sqlmodel import Field, Session, SQLModel, col, select

from models.tables import Draft
from models.types import UTCDateTime, created_at_field, user_fk_field


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
    created_at: datetime = created_at_field()


class Stage(SQLModel, table=True):
    """One deadline of a competition, e.g. "Batas input profil inovasi"."""

    __tablename__ = "competition_stages"

    id: int | None = Field(default=None, primary_key=True)
    competition_id: int = _competition_fk()
    name: str = Field(max_length=200)
    deadline_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = created_at_field()


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
    linked_at: datetime = created_at_field()


class Follow(SQLModel, table=True):
    __tablename__ = "competition_follows"
    __table_args__ = (UniqueConstraint("user_id", "competition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_fk_field()
    competition_id: int = _competition_fk()
    created_at: datetime = created_at_field()


class ReminderMute(SQLModel, table=True):
    """Muted reminders: of one competition, or of all (competition_id 0 means all)."""

    __tablename__ = "reminder_mutes"
    __table_args__ = (UniqueConstraint("user_id", "competition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_fk_field()
    competition_id: int = Field(default=0)
    created_at: datetime = created_at_field()


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
    updated_at: datetime = created_at_field()


# ---- queries -------------------------------------------------------------------------------------


def competitions_newest_first(session: Session) -> list[Competition]:
    query = select(Competition).order_by(col(Competition.year).desc(), col(Competition.name))
    return list(session.exec(query))


def competitions_by_name(session: Session) -> list[Competition]:
    return list(session.exec(select(Competition).order_by(col(Competition.name))))


def competitions_by_id(session: Session, ids: Iterable[int]) -> dict[int, Competition]:
    ids = list(ids)
    if not ids:
        return {}
    query = select(Competition).where(col(Competition.id).in_(ids))
    return {c.id: c for c in session.exec(query) if c.id is not None}


def competitions_of_year(session: Session, year: int) -> list[Competition]:
    return list(session.exec(select(Competition).where(Competition.year == year)))


def stages_of(session: Session, competition_id: int | None) -> list[Stage]:
    query = select(Stage).where(Stage.competition_id == competition_id)
    return list(session.exec(query.order_by(col(Stage.deadline_at))))


def upcoming_stages(session: Session, competition_ids: Iterable[int], now: datetime) -> list[Stage]:
    """The stages of these competitions not yet past, soonest first."""
    ids = list(competition_ids)
    if not ids:
        return []
    query = select(Stage).where(col(Stage.competition_id).in_(ids), Stage.deadline_at >= now)
    return list(session.exec(query.order_by(col(Stage.deadline_at))))


def open_competition_ids(session: Session, now: datetime) -> set[int]:
    """Competitions with a deadline still ahead."""
    return set(session.exec(select(Stage.competition_id).where(Stage.deadline_at >= now)))


def linked_draft_count(session: Session, competition_id: int | None) -> int:
    query = select(func.count()).where(DraftLink.competition_id == competition_id)
    return session.exec(query).one()


def follower_count(session: Session, competition_id: int | None) -> int:
    return session.exec(select(func.count()).where(Follow.competition_id == competition_id)).one()


def followed_competitions(session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(Follow.competition_id).where(Follow.user_id == user_id)))


def follow_of(session: Session, user_id: int, competition_id: int) -> Follow | None:
    query = select(Follow).where(Follow.user_id == user_id, Follow.competition_id == competition_id)
    return session.exec(query).first()


def mute_of(session: Session, user_id: int, competition_id: int) -> ReminderMute | None:
    query = select(ReminderMute).where(
        ReminderMute.user_id == user_id, ReminderMute.competition_id == competition_id
    )
    return session.exec(query).first()


def muted_competitions(session: Session, user_id: int) -> set[int]:
    """Competition ids the user muted (0 among them: all are muted)."""
    query = select(ReminderMute.competition_id).where(ReminderMute.user_id == user_id)
    return set(session.exec(query))


def links_of_draft(session: Session, draft_id: int) -> dict[int, DraftLink]:
    """The draft's links, by competition id."""
    query = select(DraftLink).where(DraftLink.draft_id == draft_id)
    return {link.competition_id: link for link in session.exec(query)}


def link_of(session: Session, draft_id: int, competition_id: int) -> DraftLink | None:
    query = select(DraftLink).where(
        DraftLink.draft_id == draft_id, DraftLink.competition_id == competition_id
    )
    return session.exec(query).first()


def relevant_competitions(session: Session, user_id: int) -> list[int]:
    """The competitions a user follows or has a draft in."""

    linked = session.exec(
        select(DraftLink.competition_id)
        .join(Draft, col(Draft.id) == DraftLink.draft_id)
        .where(Draft.owner_id == user_id)
    )
    return sorted(followed_competitions(session, user_id) | set(linked))


def delete_reminder_deliveries(
    session: Session, stage_ids: list[int], statuses: tuple[str, ...] | None = None
) -> None:
    """Forget the reminder deliveries of these stages (only those in `statuses`, if given).

    The one place the competitions feature touches ReminderDelivery (the outbox replaces it)."""
    if not stage_ids:
        return
    query = delete(ReminderDelivery).where(col(ReminderDelivery.stage_id).in_(stage_ids))
    if statuses is not None:
        query = query.where(col(ReminderDelivery.status).in_(statuses))
    session.exec(query)  # type: ignore[call-overload]


def delete_competition_rows(session: Session, competition: Competition) -> None:
    """The competition and everything hanging on it: stages, links, follows, mutes, reminders."""
    delete_reminder_deliveries(session, [s.id for s in stages_of(session, competition.id) if s.id])
    for table in (Stage, DraftLink, Follow, ReminderMute):
        session.exec(delete(table).where(col(table.competition_id) == competition.id))  # type: ignore[call-overload]
    session.delete(competition)
