"""Reminders before competition deadlines, exactly once per user × deadline × offset.

A reminder is *claimed* (a `reminder_deliveries` row with status "sending", committed) before it
is sent and its outcome recorded after. A process killed mid-send therefore never sends it again
(at worst the one message in flight at the moment of the kill is not confirmed), a duplicate
wake-up finds the claim, and a second process racing for the same reminder loses on the unique
constraint. Reminders due while the bot was down are sent late within the grace period and
recorded as skipped after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.competitions.routes import MuteCompetition
from bot.services.context import ServiceContext
from bot.services.deadlines import days_left, local_fire_time
from bot.services.drafting.routes import ContinueDraft
from bot.services.language import draft_name
from bot.services.readiness import readiness_of_draft
from bot.services.replies import Button, Reply, keyboard
from bot.services.textutil import shorten
from models import outbox
from models import repository as repo
from models.competitions import (
    Competition,
    DraftLink,
    Follow,
    ReminderDelivery,
    ReminderMute,
    Stage,
)
from models.tables import Draft, User

MAX_ATTEMPTS = 5
# Deadlines this far in the past are still looked at, to record their unsent reminders as skipped.
LOOKBACK = timedelta(days=2)
DONE = ("sending", "sent", "blocked", "skipped")
MAX_DRAFTS_SHOWN = 3


@dataclass(frozen=True)
class DueReminder:
    user_id: int
    stage_id: int
    offset_days: int
    fire_at: datetime


class ReminderService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def fire_times(self, stage: Stage) -> list[tuple[int, datetime]]:
        """(offset, UTC time) of each reminder of a deadline; none at or after the deadline."""
        times = []
        for offset in self.ctx.reminder_offsets_days:
            fire_at = local_fire_time(
                stage.deadline_at, offset, self.ctx.reminder_time, self.ctx.tz
            )
            if fire_at < stage.deadline_at:
                times.append((offset, fire_at))
        return times

    def wake_times(self, now: datetime) -> list[datetime]:
        """When the scheduler must wake: each future reminder time, and now for overdue ones."""
        with self.ctx.db.session() as session:
            stages = session.exec(select(Stage).where(Stage.deadline_at > now - LOOKBACK)).all()
        times = {
            max(fire_at, now)
            for stage in stages
            for _, fire_at in self.fire_times(stage)
            if fire_at >= now - self.ctx.reminder_grace
        }
        return sorted(times)

    def collect_due(self, now: datetime) -> list[DueReminder]:
        """Reminders due now and not yet handled; those too late are recorded as skipped."""
        with self.ctx.db.session() as session:
            stages = session.exec(select(Stage).where(Stage.deadline_at > now - LOOKBACK)).all()
            due: list[DueReminder] = []
            for stage in stages:
                offsets = [(o, f) for o, f in self.fire_times(stage) if f <= now]
                if not offsets:
                    continue
                handled = self._handled(session, stage.id)
                for user_id in recipients(session, stage.competition_id):
                    for offset, fire_at in offsets:
                        if (user_id, offset) not in handled:
                            due.append(DueReminder(user_id, stage.id, offset, fire_at))
            late = [d for d in due if self._too_late(d, now, stages)]
            self._record_skipped(session, late, now)
        skipped = set(late)
        return [d for d in due if d not in skipped]

    def claim(self, item: DueReminder, now: datetime) -> Reply | None:
        """Take the reminder for sending (committed first); None if it was taken or is moot."""
        try:
            with self.ctx.db.session() as session:
                if not self._take(session, item, now):
                    return None
        except IntegrityError:
            return None  # another run or process claimed it first
        with self.ctx.db.session() as session:
            return self.render(session, item, now)

    def record(self, item: DueReminder, outcome: str, now: datetime) -> None:
        """Store what sending did: "delivered" → sent, "blocked", or "failed" (retried)."""
        with self.ctx.db.session() as session:
            outbox.record(
                session,
                ReminderDelivery,
                _key(item),
                outcome,
                item.user_id,
                outbox.stamp(now),
                status_of={"delivered": "sent"},
            )

    def render(self, session: Session, item: DueReminder, now: datetime) -> Reply | None:
        stage = session.get(Stage, item.stage_id)
        competition = session.get(Competition, stage.competition_id) if stage else None
        if stage is None or competition is None:
            return None
        drafts = unsubmitted_drafts(session, item.user_id, competition.id)
        views = []
        for draft in drafts[:MAX_DRAFTS_SHOWN]:
            answers = repo.answers_of(session, draft.id)
            fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
            # The readiness check is the one judge of what a draft lacks (also for mentors).
            readiness = readiness_of_draft(session, fmt, draft.id)
            title = draft_name(draft.title, answers, draft.id, fmt=fmt)
            views.append(
                {
                    "id": draft.id,
                    "title": title,
                    "readiness": readiness,
                    "completeness": readiness.completeness,
                }
            )
        rows: list[list[Button]] = [
            [
                Button(
                    ContinueDraft(v["id"]),
                    label="reminder_continue",
                    params={"title": shorten(v["title"], 30)},
                )
            ]
            for v in views
        ]
        rows.append([Button(MuteCompetition(competition.id), label="mute")])
        context: dict[str, Any] = {
            "competition": competition,
            "stage": stage,
            "drafts": views,
            "more_drafts": max(0, len(drafts) - MAX_DRAFTS_SHOWN),
            "days": days_left(stage.deadline_at, now, self.ctx.tz),
        }
        return Reply("reminders/deadline", context, keyboard(*rows))

    # ---- internals ----------------------------------------------------------------------------

    def _handled(self, session: Session, stage_id: int | None) -> set[tuple[int, int]]:
        rows = session.exec(
            select(
                ReminderDelivery.user_id,
                ReminderDelivery.offset_days,
                ReminderDelivery.status,
                ReminderDelivery.attempts,
            ).where(ReminderDelivery.stage_id == stage_id)
        )
        return {
            (user_id, offset)
            for user_id, offset, status, attempts in rows
            if status in DONE or attempts >= MAX_ATTEMPTS
        }

    def _too_late(self, item: DueReminder, now: datetime, stages: list[Stage]) -> bool:
        deadline = next(s.deadline_at for s in stages if s.id == item.stage_id)
        return now - item.fire_at > self.ctx.reminder_grace or now >= deadline

    def _record_skipped(self, session: Session, late: list[DueReminder], now: datetime) -> None:
        for item in late:
            existing = _delivery(session, item)
            if existing is None:
                session.add(
                    ReminderDelivery(
                        user_id=item.user_id,
                        stage_id=item.stage_id,
                        offset_days=item.offset_days,
                        fire_at=item.fire_at,
                        status="skipped",
                        updated_at=now,
                    )
                )
            else:
                existing.status = "skipped"
                session.add(existing)

    def _take(self, session: Session, item: DueReminder, now: datetime) -> bool:
        existing = _delivery(session, item)
        if existing is None:
            session.add(
                ReminderDelivery(
                    user_id=item.user_id,
                    stage_id=item.stage_id,
                    offset_days=item.offset_days,
                    fire_at=item.fire_at,
                    status="sending",
                    attempts=1,
                    updated_at=now,
                )
            )
            session.flush()
            return True
        # Only a failed attempt may be retried, and only by the one run that flips it.
        return outbox.claim(
            session,
            ReminderDelivery,
            {"id": existing.id, "attempts": existing.attempts},
            ("failed",),
            {"status": "sending", "attempts": existing.attempts + 1, **outbox.stamp(now)},
        )


def recipients(session: Session, competition_id: int) -> list[int]:
    """Followers and owners of linked, unsubmitted drafts; registered, reachable, not muted."""
    followers = select(Follow.user_id).where(Follow.competition_id == competition_id)
    owners = (
        select(Draft.owner_id)
        .join(DraftLink, col(DraftLink.draft_id) == Draft.id)
        .where(DraftLink.competition_id == competition_id, col(DraftLink.submitted_at).is_(None))
    )
    muted = select(ReminderMute.user_id).where(
        col(ReminderMute.competition_id).in_((0, competition_id))
    )
    query = (
        select(User.id)
        .where(col(User.id).in_(followers.union(owners)))
        .where(col(User.id).not_in(muted))
        .where(User.reachable, col(User.consent_at).is_not(None))
        .order_by(col(User.id))
    )
    return list(session.exec(query))


def unsubmitted_drafts(session: Session, user_id: int, competition_id: int) -> list[Draft]:
    query = (
        select(Draft)
        .join(DraftLink, col(DraftLink.draft_id) == Draft.id)
        .where(
            Draft.owner_id == user_id,
            DraftLink.competition_id == competition_id,
            col(DraftLink.submitted_at).is_(None),
        )
        .order_by(col(Draft.updated_at).desc())
    )
    return list(session.exec(query))


def _key(item: DueReminder) -> dict[str, int]:
    return {"user_id": item.user_id, "stage_id": item.stage_id, "offset_days": item.offset_days}


def _delivery(session: Session, item: DueReminder) -> ReminderDelivery | None:
    return session.exec(select(ReminderDelivery).filter_by(**_key(item))).first()
