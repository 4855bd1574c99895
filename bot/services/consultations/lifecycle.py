"""The state machine every step goes through: transitions, the event log, telling admins, flow
exits.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.consultations.mentors import (
    display_name,
)
from bot.services.consultations.routes import (
    MyConsultations,
    ViewConsultation,
)
from bot.services.context import ServiceContext
from bot.services.formats import ProposalFormat
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    keyboard,
)
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACCEPTED,
    ACTIVE_STATES,
    ASSIGNED,
    CANCELLED,
    CLOSED,
    CONFIRMED,
    EXPIRED,
    LIVE_STATES,
    OFFERED,
    OPEN,
    PROPOSED,
    SCHEDULED,
    TAKEN,
    VOID,
    Consultation,
    ConsultationEvent,
    ConsultationEventPerson,
)
from models.tables import ConversationState, Draft, User

REQUEST = "consult_request"
CHAT = "consult_chat"
COMMENT = "consult_comment"
SCHEDULE = "consult_schedule"
RETIME = "consult_retime"
CLOSE = "consult_close"
CANCEL = "consult_cancel"
RATING = "consult_rating"

# Outbox kinds (ConsultationNotice.kind, rendered by scheduler/consultations.py) of replies
# whose kind is not simply the template's name: a first offer is not a re-announcement.
OUTBOX_KINDS = {"consult/offer": "offer_new"}
# Scheduler sources (scheduler/consultations.py) whose wake-ups depend on this data.
EXPIRY_KIND = "consult_expiry"
REMINDER_KIND = "consult_reminders"

QUESTION_MIN, QUESTION_MAX = 10, 2000
TIMES_MIN, TIMES_MAX = 3, 300
SUMMARY_MIN, SUMMARY_MAX = 10, 3000
REASON_MIN, REASON_MAX = 3, 500
COMMENT_MIN, COMMENT_MAX = 3, 1500
RATING_COMMENT_MAX = 1000
# Mentors told about a new request at once (the least loaded matching ones).
MAX_OFFERS = 5
TOPIC_PAGE = 8
LIST_LIMIT = 10
ADMIN_PAGE = 8
DRAFT_CHOICES = 8
# What a conversation passes through besides text.
RELAYABLE = frozenset({"photo", "document", "video", "voice", "audio"})
ENDED = (CLOSED, CANCELLED, EXPIRED)

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accepted": ((OPEN,), ASSIGNED),
    "assigned": ((OPEN,), ASSIGNED),
    "reassigned": (ACTIVE_STATES, ASSIGNED),
    "reopened": (ACTIVE_STATES, OPEN),
    "session_confirmed": (ACTIVE_STATES, SCHEDULED),
    "closed": (ACTIVE_STATES, CLOSED),
    "cancelled": (LIVE_STATES, CANCELLED),
    "expired": ((OPEN,), EXPIRED),
    "reannounced": ((OPEN,), OPEN),
}


class Lifecycle:
    ctx: ServiceContext

    def transition(
        self,
        session: Session,
        c: Consultation,
        action: str,
        actor: int | None,
        detail: str | None = None,
        extra_where: dict[str, Any] | None = None,
        people: list[tuple[str, int]] | None = None,
        **values: Any,
    ) -> bool:
        """Apply one transition of the state machine, atomically; record it (with the people
        it is about, by reference) if it happened."""
        sources, target = TRANSITIONS[action]
        before = c.status
        now = self.ctx.now()
        if target in ENDED:
            values.setdefault("ended_at", now)
        if not cq.move(session, c, sources, target, now, extra_where=extra_where, **values):
            return False
        event = ConsultationEvent(
            consultation_id=c.id or 0,
            at=now,
            actor_id=actor,
            by_person=actor is not None,
            action=action,
            from_status=before,
            to_status=target,
            detail=detail,
        )
        session.add(event)
        if people:
            self._name_people(session, event, people)
        return True

    def _event(
        self,
        session: Session,
        c: Consultation,
        action: str,
        actor: int | None,
        detail: str | None = None,
        to_status: str | None = None,
    ) -> ConsultationEvent:
        """A note in the history that does not change the state (offers, comments, ...)."""
        event = ConsultationEvent(
            consultation_id=c.id or 0,
            at=self.ctx.now(),
            actor_id=actor,
            by_person=actor is not None,
            action=action,
            to_status=to_status,
            detail=detail,
        )
        session.add(event)
        return event

    def _end_offers(self, session: Session, c: Consultation) -> None:
        for offer in cq.offers_of(session, c.id or 0):
            if offer.status in (OFFERED, ACCEPTED):
                offer.status = TAKEN
                session.add(offer)

    def _void_sessions(self, session: Session, c: Consultation) -> None:
        for planned in cq.sessions_of(session, c.id or 0):
            if planned.status in (PROPOSED, CONFIRMED):
                planned.status, planned.decided_at = VOID, self.ctx.now()
                session.add(planned)

    def tell_admins(self, session: Session, c: Consultation, template: str) -> list[Reply]:
        return self._tell_admins(session, c, template)

    def _tell_admins(self, session: Session, c: Consultation, template: str) -> list[Reply]:
        context = self._context(session, c)
        view = keyboard([Button(data=ViewConsultation(c.id), label="consult_open")])
        return [Reply(template, context, view, to=admin) for admin in sorted(self.ctx.admin_ids)]

    def _assigned(self, session: Session, user_id: int, cid: int) -> Consultation | None:
        """The consultation if this user is its (active) mentor and it is still going on."""
        c = session.get(Consultation, cid)
        if self.role(session, user_id, c) != "mentor" or c is None:
            return None
        return c if c.status in ACTIVE_STATES else None

    def _leave_flow(
        self, flow: str, session: Session, state: ConversationState, args: str
    ) -> Outcome:
        """/batal inside a consultation flow: nothing is changed, the flow is left."""
        repo.clear_flow(state)
        return Outcome().add(Reply("consult/flow_left", {"flow": flow}))


def _draft_title(
    draft: Draft | None, answers: dict[str, str], fmt: ProposalFormat | None
) -> str | None:
    """The draft's own name, if it has one: its title, or the answer of its format's title
    section (an untitled draft is named by the templates)."""
    if draft is None:
        return None
    return draft.title or (fmt.answer_for("title", answers) if fmt else None) or None


def _reads_draft(role: str | None, c: Consultation) -> bool:
    """Who may read the consulted draft, now: its owner; a mentor it is offered to while it is
    open; its mentor while the consultation goes on. Once it is closed, cancelled, expired or
    moved to another mentor, the mentor no longer sees the draft, nor its later edits."""
    if role == "asn":
        return True
    if role == "offered":
        return c.status == OPEN
    return role == "mentor" and c.status in ACTIVE_STATES


def _mine_row() -> list[Button]:
    return [Button(data=MyConsultations(), label="consult_mine")]


def _names_by_role(
    session: Session, people: list[ConsultationEventPerson]
) -> dict[str, list[str | None]]:
    """The people of one history line by role, with today's names (None: account deleted,
    shown as such by the template)."""
    found: dict[str, list[str | None]] = {}
    for person in people:
        name = display_name(session, person.user_id) if person.user_id is not None else None
        found.setdefault(person.role, []).append(name)
    return found


def _mark_unreachable(session: Session, user_id: int) -> None:
    mentor = session.get(cq.Mentor, user_id)
    if mentor is not None and mentor.reachable:
        mentor.reachable = False
        session.add(mentor)
    user = session.get(User, user_id)
    if user is not None and user.reachable:
        user.reachable = False
        session.add(user)


def _not_found() -> Outcome:
    return Outcome(notice="consult_not_found", notice_alert=True).add(Reply("consult/not_found"))


def _draft_not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))


def _stale() -> Outcome:
    return Outcome(notice="stale_button", notice_alert=True)
