"""The reads of the coordinator's reports (/statistik and the XLSX of /ekspor): every draft,
user and office, the next deadlines, the competition entries, and the consultations' times.
Plain functions taking a Session first (the DB convention); the tables live with their
features."""

from __future__ import annotations

from datetime import datetime
from types import ModuleType

from sqlmodel import Session, col, func, select

from models.competitions import Competition, DraftLink, Stage
from models.tables import Draft, Opd, User


def all_drafts(session: Session) -> list[Draft]:
    return list(session.exec(select(Draft).order_by(col(Draft.id))))


def count_drafts(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Draft)).one()


def all_users(session: Session) -> list[User]:
    return list(session.exec(select(User)))


def all_opds(session: Session) -> list[Opd]:
    """Every office, active or not, by name."""
    return list(session.exec(select(Opd).order_by(col(Opd.name))))


def next_stages(session: Session, now: datetime, limit: int) -> list[tuple[Stage, Competition]]:
    """The `limit` competition stages whose deadline is still ahead, soonest first."""
    return list(
        session.exec(
            select(Stage, Competition)
            .join(Competition, col(Competition.id) == Stage.competition_id)
            .where(Stage.deadline_at >= now)
            .order_by(col(Stage.deadline_at))
            .limit(limit)
        ).all()
    )


def unsubmitted_links(session: Session) -> list[DraftLink]:
    """Drafts entered in a competition and not yet submitted."""
    return list(session.exec(select(DraftLink).where(col(DraftLink.submitted_at).is_(None))))


def links_with_competitions(session: Session) -> list[tuple[DraftLink, Competition]]:
    """Every competition entry with its competition, by year and name."""
    return list(
        session.exec(
            select(DraftLink, Competition)
            .join(Competition, col(Competition.id) == col(DraftLink.competition_id))
            .order_by(col(Competition.year), col(Competition.name))
        ).all()
    )


def consultation_times(session: Session, models: ModuleType) -> tuple[list, list, list]:
    """(accepted offers, consultations by id, relayed messages) of the consultation feature's
    `models` module, which an installation may lack (hence passed in, not imported)."""
    offers = list(
        session.exec(
            select(models.ConsultationOffer).where(models.ConsultationOffer.status == "accepted")
        )
    )
    items = list(session.exec(select(models.Consultation).order_by(col(models.Consultation.id))))
    relayed = list(session.exec(select(models.RelayedMessage)))
    return offers, items, relayed
