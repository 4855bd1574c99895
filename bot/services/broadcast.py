"""The admin's broadcast (/siaran): compose, choose the audience, preview, confirm, send, report.

A broadcast is a row from the first keystroke (status "draft"); confirming it snapshots the
audience into `broadcast_deliveries` (one row per recipient) and hands it to the scheduler's
broadcast source, which claims each delivery before sending and records what happened. So a
restart resumes exactly where the sending stopped, and nobody gets the message twice.
Users already known to have blocked the bot are recorded as blocked without a send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.services.context import ServiceContext
from bot.services.feature import Feature, RouteHandler
from bot.services.registration import search_opds
from bot.services.replies import Button, Outcome, Reply, keyboard, one_per_row
from bot.services.roles import Role
from bot.services.routes import Route
from bot.services.textutil import with_year
from models import broadcasts as bq
from models import outbox
from models import repository as repo
from models.broadcasts import Broadcast, BroadcastDelivery
from models.competitions import Competition, Follow
from models.tables import ConversationState, Opd, User

KIND = "broadcasts"  # the scheduler source that sends confirmed broadcasts
COMPOSE = "broadcast_text"
CHOOSE_OPD = "broadcast_opd"
TEXT_MIN, TEXT_MAX = 5, 3500  # leaves room for the heading within Telegram's 4,096
COMPETITIONS_SHOWN = 20


# ---- routes: the buttons of /siaran, each on one broadcast being composed ----------------------


class ChooseAudience(Route, prefix="b:a"):
    """Everyone, one OPD (asked next), or a competition's followers (listed next)."""

    broadcast_id: int
    audience: Literal["all", "opd", "c"]


class ChooseAudienceOpd(Route, prefix="b:o"):
    broadcast_id: int
    opd_id: int


class ChooseAudienceCompetition(Route, prefix="b:c"):
    broadcast_id: int
    competition_id: int


class SendBroadcast(Route, prefix="b:y"):
    broadcast_id: int


class EditBroadcastText(Route, prefix="b:t"):
    broadcast_id: int


class ChangeAudience(Route, prefix="b:r"):
    broadcast_id: int


class CancelBroadcast(Route, prefix="b:n"):
    broadcast_id: int


# What a button does to the admin's own broadcast still being composed (session, state, it, route).
DraftAction = Callable[[Session, ConversationState, Broadcast, Any], Outcome]


@dataclass(frozen=True)
class Report:
    total: int
    delivered: int
    blocked: int
    failed: int


# ---- audiences ----------------------------------------------------------------------------------


def registered_users(session: Session) -> list[User]:
    return [u for u in session.exec(select(User).order_by(col(User.id))) if repo.registered(u)]


def all_asn(session: Session) -> list[User]:
    """Everyone registered: ASN, mentors and admins alike receive a broadcast to all."""
    return registered_users(session)


def opd_members(session: Session, opd_id: int) -> list[User]:
    return [u for u in registered_users(session) if u.opd_id == opd_id]


def competition_followers(session: Session, competition_id: int) -> list[User]:
    """Registered users following a competition (the competitions feature's follows)."""
    followers = set(
        session.exec(select(Follow.user_id).where(Follow.competition_id == competition_id))
    )
    return [u for u in registered_users(session) if u.id in followers]


def audience_of(session: Session, broadcast: Broadcast) -> list[User]:
    if broadcast.audience == "all":
        return all_asn(session)
    if broadcast.audience == "opd" and broadcast.audience_id is not None:
        return opd_members(session, broadcast.audience_id)
    if broadcast.audience == "competition" and broadcast.audience_id is not None:
        return competition_followers(session, broadcast.audience_id)
    return []


# ---- the feature ------------------------------------------------------------------------------


class BroadcastService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        own = self._on_own_draft
        return Feature(
            name="broadcast",
            service=self,
            role=Role.ADMIN,
            commands={"siaran": lambda s, st, a: self.start(s, st)},
            routes={
                ChooseAudience: own(lambda s, st, b, r: self.choose_audience(s, st, b, r.audience)),
                ChooseAudienceOpd: own(lambda s, st, b, r: self.set_opd(s, st, b, r.opd_id)),
                ChooseAudienceCompetition: own(
                    lambda s, st, b, r: self.set_competition(s, b, r.competition_id)
                ),
                SendBroadcast: own(lambda s, st, b, r: self.confirm(s, b)),
                EditBroadcastText: own(lambda s, st, b, r: self.ask_new_text(st, b)),
                ChangeAudience: own(
                    lambda s, st, b, r: Outcome().add(self._audience_question(b, edit=True))
                ),
                CancelBroadcast: own(lambda s, st, b, r: self._cancel(s, st, b)),
            },
            text_flows={COMPOSE: self.on_text, CHOOSE_OPD: self.on_opd_text},
            cancel_flows={COMPOSE: self.cancel_flow, CHOOSE_OPD: self.cancel_flow},
        )

    def _on_own_draft(self, action: DraftAction) -> RouteHandler:
        """A button's handler that runs only on the admin's own broadcast still in draft."""

        def handle(session: Session, user_id: int, route: Any) -> Outcome:
            broadcast = session.get(Broadcast, route.broadcast_id)
            if broadcast is None or broadcast.admin_id != user_id:
                return Outcome(notice="broadcast_not_found", notice_alert=True)
            if broadcast.status != "draft":
                return Outcome(notice="broadcast_closed", notice_alert=True)
            return action(session, repo.get_state(session, user_id), broadcast, route)

        return handle

    # ---- composing ----------------------------------------------------------------------------

    def start(self, session: Session, state: ConversationState) -> Outcome:
        # An unfinished composition of this admin is replaced by the new one.
        session.exec(
            update(Broadcast)
            .where(col(Broadcast.admin_id) == state.user_id, col(Broadcast.status) == "draft")
            .values(status="cancelled")
        )
        repo.set_flow(state, COMPOSE)
        return Outcome().add(Reply("admin/broadcast_ask_text", {"maximum": TEXT_MAX}))

    def on_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        value = text.strip()
        if not TEXT_MIN <= len(value) <= TEXT_MAX:
            context = {"minimum": TEXT_MIN, "maximum": TEXT_MAX, "length": len(value)}
            return Outcome().add(Reply("admin/broadcast_text_invalid", context))
        broadcast = self._composing(session, state)
        if broadcast is None:
            broadcast = Broadcast(admin_id=state.user_id, created_at=self.ctx.now())
        broadcast.text = value
        session.add(broadcast)
        session.flush()
        repo.clear_flow(state)
        if broadcast.audience:  # the text was changed after the audience was chosen
            return self.preview(session, broadcast)
        return Outcome().add(self._audience_question(broadcast))

    def ask_new_text(self, state: ConversationState, broadcast: Broadcast) -> Outcome:
        repo.set_flow(state, COMPOSE, data={"broadcast_id": broadcast.id})
        return Outcome().add(Reply("admin/broadcast_ask_text", {"maximum": TEXT_MAX}))

    def choose_audience(
        self, session: Session, state: ConversationState, broadcast: Broadcast, choice: str
    ) -> Outcome:
        """`choice` is one of ChooseAudience's: "all", "opd" or "c" (a competition's followers)."""
        if choice == "all":
            self._set_audience(broadcast, "all", None, "")
            session.add(broadcast)
            return self.preview(session, broadcast, edit=True)
        if choice == "opd":
            repo.set_flow(state, CHOOSE_OPD, data={"broadcast_id": broadcast.id})
            return Outcome().add(Reply("admin/broadcast_ask_opd", edit=True))
        return self._choose_competition(session, broadcast)

    def on_opd_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        broadcast = self._composing(session, state)
        if broadcast is None:
            repo.clear_flow(state)
            return Outcome().add(Reply("admin/broadcast_expired"))
        matches = search_opds(repo.active_opds(session), text)
        if not matches:
            return Outcome().add(Reply("register/opd_not_found", {"text": text.strip()[:100]}))
        buttons = [Button(ChooseAudienceOpd(broadcast.id, o.id), text=o.name) for o in matches]
        return Outcome().add(Reply("admin/broadcast_opd_matches", {}, one_per_row(buttons)))

    def set_opd(
        self, session: Session, state: ConversationState, broadcast: Broadcast, opd_id: int
    ) -> Outcome:
        opd = session.get(Opd, opd_id)
        if opd is None or not opd.active:
            return Outcome(notice="opd_not_found", notice_alert=True)
        repo.clear_flow(state)
        self._set_audience(broadcast, "opd", opd.id, opd.name)
        session.add(broadcast)
        return self.preview(session, broadcast, edit=True)

    def set_competition(
        self, session: Session, broadcast: Broadcast, competition_id: int
    ) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="broadcast_not_found", notice_alert=True)
        label = with_year(competition.name, competition.year)
        self._set_audience(broadcast, "competition", competition.id, label)
        session.add(broadcast)
        return self.preview(session, broadcast, edit=True)

    def preview(self, session: Session, broadcast: Broadcast, edit: bool = False) -> Outcome:
        """The message exactly as recipients will see it, then who gets it and the buttons."""
        recipients = audience_of(session, broadcast)
        unreachable = sum(1 for u in recipients if not u.reachable)
        context = {
            "broadcast": broadcast,
            "audience": self._audience_text(broadcast),
            "recipients": len(recipients),
            "unreachable": unreachable,
        }
        bid = broadcast.id
        rows = [
            [Button(SendBroadcast(bid), label="broadcast_send")] if recipients else [],
            [
                Button(EditBroadcastText(bid), label="broadcast_edit"),
                Button(ChangeAudience(bid), label="broadcast_change_audience"),
            ],
            [Button(CancelBroadcast(bid), label="broadcast_cancel")],
        ]
        outcome = Outcome().add(self.message_reply(broadcast))
        return outcome.add(Reply("admin/broadcast_preview", context, keyboard(*rows)))

    def confirm(self, session: Session, broadcast: Broadcast) -> Outcome:
        """Snapshot the audience into deliveries and start sending (once: the status changes
        from draft to sending in one conditional update)."""
        started = session.execute(
            update(Broadcast)
            .where(col(Broadcast.id) == broadcast.id, col(Broadcast.status) == "draft")
            .values(status="sending", confirmed_at=self.ctx.now())
        )
        if started.rowcount != 1:  # type: ignore[attr-defined]
            return Outcome(notice="broadcast_closed", notice_alert=True)
        recipients = audience_of(session, broadcast)
        now = self.ctx.now()
        for user in recipients:
            status = "pending" if user.reachable else "blocked"
            session.add(
                BroadcastDelivery(
                    broadcast_id=broadcast.id, user_id=user.id, status=status, updated_at=now
                )
            )
        context = {
            "audience": self._audience_text(broadcast),
            "recipients": len(recipients),
            "unreachable": sum(1 for u in recipients if not u.reachable),
        }
        return Outcome(notice="broadcast_sending", rebuild=(KIND,)).add(
            Reply("admin/broadcast_started", context, edit=True)
        )

    def cancel_flow(self, session: Session, state: ConversationState, args: str = "") -> Outcome:
        broadcast = self._composing(session, state)
        repo.clear_flow(state)
        if broadcast is not None and broadcast.status == "draft":
            broadcast.status = "cancelled"
            session.add(broadcast)
        return Outcome().add(Reply("admin/broadcast_cancelled"))

    def _cancel(self, session: Session, state: ConversationState, broadcast: Broadcast) -> Outcome:
        broadcast.status = "cancelled"
        session.add(broadcast)
        if state.flow in (COMPOSE, CHOOSE_OPD):
            repo.clear_flow(state)
        return Outcome().add(Reply("admin/broadcast_cancelled", edit=True))

    def _composing(self, session: Session, state: ConversationState) -> Broadcast | None:
        broadcast_id = (state.data or {}).get("broadcast_id")
        broadcast = session.get(Broadcast, broadcast_id) if broadcast_id else None
        if broadcast is None or broadcast.admin_id != state.user_id:
            return None
        return broadcast if broadcast.status == "draft" else None

    def _audience_question(self, broadcast: Broadcast, edit: bool = False) -> Reply:
        bid = broadcast.id
        buttons = one_per_row(
            [
                Button(ChooseAudience(bid, "all"), label="broadcast_all"),
                Button(ChooseAudience(bid, "opd"), label="broadcast_opd"),
                Button(ChooseAudience(bid, "c"), label="broadcast_followers"),
                Button(CancelBroadcast(bid), label="broadcast_cancel"),
            ]
        )
        return Reply("admin/broadcast_audience", {}, buttons, edit=edit)

    def _choose_competition(self, session: Session, broadcast: Broadcast) -> Outcome:
        year = self.ctx.today().year
        competitions = session.exec(
            select(Competition)
            .where(Competition.year >= year - 1)
            .order_by(col(Competition.year).desc(), col(Competition.name))
            .limit(COMPETITIONS_SHOWN)
        ).all()
        back = Button(ChangeAudience(broadcast.id), label="broadcast_change_audience")
        if not competitions:
            return Outcome().add(
                Reply("admin/broadcast_no_competitions", {}, keyboard([back]), edit=True)
            )
        followers = dict(
            session.exec(
                select(Follow.competition_id, func.count())
                .where(col(Follow.competition_id).in_([c.id for c in competitions]))
                .group_by(col(Follow.competition_id))
            ).all()
        )
        buttons = [
            Button(
                ChooseAudienceCompetition(broadcast.id, c.id),
                text=f"{with_year(c.name, c.year)} · {followers.get(c.id, 0)} pengikut",
            )
            for c in competitions
        ]
        return Outcome().add(
            Reply(
                "admin/broadcast_competitions",
                {},
                keyboard(*one_per_row(buttons), [back]),
                edit=True,
            )
        )

    def _set_audience(
        self, broadcast: Broadcast, audience: str, audience_id: int | None, label: str
    ) -> None:
        broadcast.audience = audience
        broadcast.audience_id = audience_id
        broadcast.audience_label = label[:250]

    def _audience_text(self, broadcast: Broadcast) -> dict[str, str]:
        return {"kind": broadcast.audience or "", "label": broadcast.audience_label or ""}

    # ---- used by the scheduler's broadcast source ------------------------------------------------

    def wake_times(self, now: datetime) -> list[datetime]:
        return [now] if self.sending_ids() else []

    def sending_ids(self) -> list[int]:
        with self.ctx.db.session() as session:
            return bq.sending_ids(session)

    def pending_recipients(self, broadcast_id: int) -> list[int]:
        with self.ctx.db.session() as session:
            return bq.pending_recipients(session, broadcast_id)

    def message_of(self, broadcast_id: int) -> Reply | None:
        with self.ctx.db.session() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            return self.message_reply(broadcast) if broadcast else None

    def message_reply(self, broadcast: Broadcast) -> Reply:
        return Reply("admin/broadcast_message", {"text": broadcast.text})

    def claim(self, broadcast_id: int, user_id: int, now: datetime) -> bool:
        """Mark one delivery as being sent; False if it was taken already (never sent twice)."""
        with self.ctx.db.session() as session:
            return outbox.claim(
                session,
                BroadcastDelivery,
                {"broadcast_id": broadcast_id, "user_id": user_id},
                ("pending",),
                {"status": "sending", **outbox.stamp(now)},
            )

    def record(self, broadcast_id: int, user_id: int, status: str, now: datetime) -> None:
        with self.ctx.db.session() as session:
            outbox.record(
                session,
                BroadcastDelivery,
                {"broadcast_id": broadcast_id, "user_id": user_id},
                status,
                user_id,
                outbox.stamp(now),
            )

    def report(self, session: Session, broadcast_id: int) -> Report:
        counts = bq.status_counts(session, broadcast_id)
        return Report(
            total=sum(counts.values()),
            # A delivery claimed by a process that died before Telegram answered was most
            # likely sent: it is counted as delivered rather than sent a second time.
            delivered=counts.get("delivered", 0) + counts.get("sending", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
        )

    def finish(self, broadcast_id: int, now: datetime) -> tuple[int, Reply] | None:
        """Once nothing is pending: mark the broadcast done and return its report for the
        admin (exactly once, by the conditional update); None while sends are still pending."""
        with self.ctx.db.session() as session:
            if bq.pending_count(session, broadcast_id):
                return None
            done = session.execute(
                update(Broadcast)
                .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == "sending")
                .values(status="done", finished_at=now)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            broadcast = session.get(Broadcast, broadcast_id)
            assert broadcast is not None
            report = self.report(session, broadcast_id)
            context = {"report": report, "audience": self._audience_text(broadcast)}
            return broadcast.admin_id, Reply("admin/broadcast_report", context)
