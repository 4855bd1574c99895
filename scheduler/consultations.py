"""Scheduled consultation work, derived from the database each time it wakes.

- `ExpirySource`: a request no mentor accepted within the expiry time is re-announced to every
  active mentor (the admins and the ASN are told); after the last round it expires. The state
  change and the notices it causes are written in one transaction (`consultation_notices`, an
  outbox), then each notice is claimed, sent and its outcome recorded.
- `SessionReminderSource`: reminders before a confirmed session (default 1 day and 1 hour), one
  per session × person × offset, claimed before sending (`consultation_reminders`).

A claim is committed before the send, so a crash, a duplicated wake-up or a second process never
sends anything twice; a claim left "sending" by a crash counts as sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.consultations import (
    EXPIRY_KIND,
    REMINDER_KIND,
    ConsultationService,
)
from bot.services.consultations.mentors import display_name
from bot.services.consultations.routes import MyConsultations, OpenChat, ViewConsultation
from bot.services.replies import Button, Reply, keyboard
from models import consultations as cq
from models import outbox
from models.consultations import (
    CONFIRMED,
    OFFERED,
    OPEN,
    SCHEDULED,
    Consultation,
    ConsultationNotice,
    ConsultationSession,
    SessionReminder,
)
from scheduler.core import DeliveryStatus, Scheduler
from scheduler.outbox import Batch, OutboxSource

if TYPE_CHECKING:
    from bot.services.context import ServiceContext
    from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RETRYABLE = ("pending", "failed")
# Statuses after which a reminder is never tried again.
DONE = ("sending", "sent", "blocked", "skipped")


def register_consultation_sources(
    scheduler: Scheduler, ctx: ServiceContext, settings: Settings
) -> None:
    """Wire both sources with the deployment's settings (called by the composition root)."""
    service = ConsultationService(ctx)
    expiry = timedelta(hours=settings.consultation_expiry_hours)
    scheduler.register(ExpirySource(service, expiry, settings.consultation_reannouncements))
    offsets = tuple(timedelta(hours=h) for h in settings.session_reminder_hours)
    scheduler.register(SessionReminderSource(service, offsets))


# These tables call a delivered message "sent".
SENT = {"delivered": "sent"}
# Consultation notices go one at a time, as before the outbox (they are few).
SEQUENTIAL = 1


@dataclass(frozen=True)
class PendingNotice:
    notice_id: int
    user_id: int


class ExpirySource(OutboxSource[PendingNotice]):
    kind = EXPIRY_KIND

    def __init__(
        self, service: ConsultationService, expiry: timedelta, reannouncements: int = 1
    ) -> None:
        super().__init__(concurrency=SEQUENTIAL)
        self.service = service
        self.ctx = service.ctx
        self.expiry = expiry
        self.reannouncements = reannouncements

    def wake_times(self, now: datetime) -> list[datetime]:
        with self.ctx.db.session() as session:
            waiting = session.exec(select(Consultation).where(Consultation.status == OPEN)).all()
            unsent = session.exec(self._unsent_query()).first()
        times = {max(c.announced_at + self.expiry, now) for c in waiting}
        if unsent is not None:
            times.add(now)
        return sorted(times)

    def batches(self, now: datetime) -> list[Batch[PendingNotice]]:
        """Decide what is overdue first: the decision writes the notices it causes."""
        self.decide(now)
        return [Batch(self.unsent(now))]

    def chat_of(self, item: PendingNotice) -> int:
        return item.user_id

    def decide(self, now: datetime) -> None:
        """Re-announce or expire each overdue request, each in its own transaction."""
        with self.ctx.db.session() as session:
            overdue = session.exec(
                select(Consultation.id).where(
                    Consultation.status == OPEN,
                    col(Consultation.announced_at) <= now - self.expiry,
                )
            ).all()
        for cid in overdue:
            with self.ctx.db.session() as session:
                self._decide_one(session, cid)

    def _decide_one(self, session: Session, cid: int | None) -> None:
        c = session.get(Consultation, cid)
        if c is None or c.status != OPEN:
            return
        admins = sorted(self.ctx.admin_ids)
        if c.announce_round <= self.reannouncements:
            offered = self.service.reannounce(session, c)
            if offered is None:
                return
            notices = [("offer", m) for m in offered]
            notices += [("admin_reannounced", a) for a in admins]
            notices.append(("asn_reannounced", c.asn_id))
        else:
            if not self.service.expire(session, c):
                return
            notices = [("asn_expired", c.asn_id)] + [("admin_expired", a) for a in admins]
        for kind, user_id in notices:
            session.add(
                ConsultationNotice(
                    consultation_id=c.id or 0,
                    kind=kind,
                    round=c.announce_round,
                    user_id=user_id,
                    created_at=self.ctx.now(),
                    updated_at=self.ctx.now(),
                )
            )

    def _unsent_query(self):  # type: ignore[no-untyped-def]
        return select(ConsultationNotice.id, ConsultationNotice.user_id).where(
            col(ConsultationNotice.status).in_(RETRYABLE),
            ConsultationNotice.attempts < MAX_ATTEMPTS,
        )

    def unsent(self, now: datetime) -> list[PendingNotice]:
        with self.ctx.db.session() as session:
            query = self._unsent_query().order_by(col(ConsultationNotice.id))
            return [PendingNotice(i, u) for i, u in session.exec(query).all() if i is not None]

    def claim(self, item: PendingNotice, now: datetime) -> Reply | None:
        """Take a notice for sending (committed first) and render it; None if it was taken
        by another run or became moot (the request was accepted meanwhile)."""
        notice_id = item.notice_id
        with self.ctx.db.session() as session:
            if not outbox.claim(
                session,
                ConsultationNotice,
                {"id": notice_id},
                RETRYABLE,
                {
                    "status": "sending",
                    "attempts": ConsultationNotice.attempts + 1,
                    "updated_at": now,
                },
            ):
                return None
        with self.ctx.db.session() as session:
            notice = session.get(ConsultationNotice, notice_id)
            c = session.get(Consultation, notice.consultation_id) if notice else None
            reply = self._render(session, notice, c) if notice and c else None
            if reply is None and notice is not None:
                notice.status = "skipped"
                session.add(notice)
                return None
            return reply

    def _render(
        self, session: Session, notice: ConsultationNotice, c: Consultation
    ) -> Reply | None:
        if notice.kind in ("offer", "offer_new", "asn_reannounced") and c.status != OPEN:
            return None
        if notice.kind in ("offer", "offer_new"):  # a re-announcement, or a first offer
            offer = cq.offer_of(session, c.id or 0, notice.user_id)
            if offer is None or offer.status != OFFERED:
                return None
            again = notice.kind == "offer"
            return self.service.offer_reply(session, c, notice.user_id, again=again)
        context = self.service.context_of(session, c)
        context["offered"] = sum(1 for o in cq.offers_of(session, c.id or 0) if o.status == OFFERED)
        if notice.kind.startswith("admin_"):
            view = keyboard([Button(ViewConsultation(c.id), label="consult_open")])
            return Reply(f"consult/{notice.kind}", context, view)
        mine = keyboard([Button(MyConsultations(), label="consult_mine")])
        return Reply(f"consult/{notice.kind}", context, mine)

    def record(self, item: PendingNotice, outcome: DeliveryStatus, now: datetime) -> None:
        with self.ctx.db.session() as session:
            outbox.record(
                session,
                ConsultationNotice,
                {"id": item.notice_id},
                outcome,
                item.user_id,
                outbox.stamp(now),
                status_of=SENT,
            )
            if outcome == "blocked":
                mentor = session.get(cq.Mentor, item.user_id)
                if mentor is not None:
                    mentor.reachable = False
                    session.add(mentor)


@dataclass(frozen=True)
class DueReminder:
    session_id: int
    user_id: int
    offset_minutes: int


class SessionReminderSource(OutboxSource[DueReminder]):
    kind = REMINDER_KIND

    def __init__(self, service: ConsultationService, offsets: tuple[timedelta, ...]) -> None:
        super().__init__(concurrency=SEQUENTIAL)
        self.service = service
        self.ctx = service.ctx
        self.offsets = tuple(sorted(offsets, reverse=True))

    def _upcoming(
        self, session: Session, now: datetime
    ) -> list[tuple[ConsultationSession, Consultation]]:
        query = (
            select(ConsultationSession, Consultation)
            .join(Consultation, col(Consultation.id) == col(ConsultationSession.consultation_id))
            .where(
                ConsultationSession.status == CONFIRMED,
                Consultation.status == SCHEDULED,
                col(ConsultationSession.starts_at) > now,
            )
        )
        return list(session.exec(query).all())

    def _rows(
        self, session: Session, session_ids: list[int]
    ) -> dict[tuple[int, int, int], SessionReminder]:
        if not session_ids:
            return {}
        query = select(SessionReminder).where(col(SessionReminder.session_id).in_(session_ids))
        return {(r.session_id, r.user_id, r.offset_minutes): r for r in session.exec(query)}

    def wake_times(self, now: datetime) -> list[datetime]:
        with self.ctx.db.session() as session:
            upcoming = self._upcoming(session, now)
            rows = self._rows(session, [s.id for s, _ in upcoming if s.id is not None])
        times = set()
        for planned, c in upcoming:
            for offset in self.offsets:
                minutes = _minutes(offset)
                people = (c.asn_id, c.mentor_id)
                if all(_done(rows.get((planned.id or 0, p or 0, minutes))) for p in people):
                    continue
                times.add(max(planned.starts_at - offset, now))
        return sorted(times)

    def batches(self, now: datetime) -> list[Batch[DueReminder]]:
        return [Batch(self.collect_due(now))]

    def chat_of(self, item: DueReminder) -> int:
        return item.user_id

    def collect_due(self, now: datetime) -> list[DueReminder]:
        """Reminders due now; of several due at once (the bot was down) only the one nearest
        the session is sent, the earlier ones are recorded as skipped."""
        due: list[DueReminder] = []
        late: list[DueReminder] = []
        with self.ctx.db.session() as session:
            upcoming = self._upcoming(session, now)
            rows = self._rows(session, [s.id for s, _ in upcoming if s.id is not None])
        for planned, c in upcoming:
            offsets = [o for o in self.offsets if planned.starts_at - o <= now]
            if not offsets or c.mentor_id is None:
                continue
            nearest = _minutes(offsets[-1])
            for person in (c.asn_id, c.mentor_id):
                for minutes in (_minutes(o) for o in offsets):
                    item = DueReminder(planned.id or 0, person, minutes)
                    row = rows.get((item.session_id, person, minutes))
                    if minutes != nearest:
                        if row is None:
                            late.append(item)
                    elif row is None or (row.status == "failed" and row.attempts < MAX_ATTEMPTS):
                        due.append(item)
        for item in late:
            self._skip(item, now)
        return due

    def _skip(self, item: DueReminder, now: datetime) -> None:
        try:
            with self.ctx.db.session() as session:
                session.add(
                    SessionReminder(
                        session_id=item.session_id,
                        user_id=item.user_id,
                        offset_minutes=item.offset_minutes,
                        status="skipped",
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # another run recorded it

    def claim(self, item: DueReminder, now: datetime) -> Reply | None:
        try:
            with self.ctx.db.session() as session:
                row = session.exec(
                    select(SessionReminder).where(
                        SessionReminder.session_id == item.session_id,
                        SessionReminder.user_id == item.user_id,
                        SessionReminder.offset_minutes == item.offset_minutes,
                    )
                ).first()
                if row is None:
                    session.add(
                        SessionReminder(
                            session_id=item.session_id,
                            user_id=item.user_id,
                            offset_minutes=item.offset_minutes,
                            status="sending",
                            attempts=1,
                            updated_at=now,
                        )
                    )
                elif not outbox.claim(
                    session,
                    SessionReminder,
                    {"id": row.id},
                    ("failed",),
                    {"status": "sending", "attempts": row.attempts + 1, "updated_at": now},
                ):
                    return None
        except IntegrityError:
            return None  # claimed by another run or process
        with self.ctx.db.session() as session:
            return self._render(session, item)

    def _render(self, session: Session, item: DueReminder) -> Reply | None:
        planned = session.get(ConsultationSession, item.session_id)
        c = session.get(Consultation, planned.consultation_id) if planned else None
        if planned is None or c is None:
            return None
        other = c.mentor_id if item.user_id == c.asn_id else c.asn_id
        context = {
            "c": c,
            "session": planned,
            "minutes": item.offset_minutes,
            "other": display_name(session, other),
        }
        buttons = keyboard([Button(OpenChat(c.id), label="consult_write")])
        return Reply("consult/session_reminder", context, buttons)

    def record(self, item: DueReminder, outcome: DeliveryStatus, now: datetime) -> None:
        with self.ctx.db.session() as session:
            outbox.record(
                session,
                SessionReminder,
                {
                    "session_id": item.session_id,
                    "user_id": item.user_id,
                    "offset_minutes": item.offset_minutes,
                },
                outcome,
                item.user_id,
                outbox.stamp(now),
                status_of=SENT,
            )


def _minutes(offset: timedelta) -> int:
    return int(offset.total_seconds() // 60)


def _done(row: SessionReminder | None) -> bool:
    return row is not None and (row.status in DONE or row.attempts >= MAX_ATTEMPTS)
