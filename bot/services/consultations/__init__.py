"""Consultations: an ASN's request routed to mentors, a relayed conversation, sessions.

The state machine (every change recorded in `consultation_events` with time and actor):

    open ──accepted──▶ assigned ──session_confirmed──▶ scheduled
     │ ▲                 │  ▲                             │
     │ └──reopened───────┤  └──reassigned (admin)─────────┤
     ├──expired          ├──closed / cancelled ───────────┘
     └──cancelled

Each transition is one conditional UPDATE (see models.consultations.move), so two people acting
at the same moment can never both win: of two mentors pressing Accept, one gets the request and
the other is told it is taken. Flow state (which request is being written, which conversation
a user is speaking in) lives in `conversation_states`, so a restart changes nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.services import limits
from bot.services.answers import display_value
from bot.services.consultations.routes import RequestAboutDraft
from bot.services.context import ServiceContext
from bot.services.drafting import DraftView
from bot.services.feature import Feature, Media
from bot.services.mentors import (
    MentorService,
    active_mentor,
    display_name,
    expertise_options,
    not_a_mentor,
    profile_buttons,
    touch,
)
from bot.services.readiness import readiness_of_draft
from bot.services.replies import (
    Button,
    Chunk,
    CopyReply,
    Keyboard,
    LongReply,
    Outcome,
    Reply,
    in_rows,
    keyboard,
    one_per_row,
)
from bot.services.textutil import MONTHS_ID, format_datetime_id, shorten
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACCEPTED,
    ACTIVE_STATES,
    ASSIGNED,
    CANCELLED,
    CLOSED,
    CONFIRMED,
    DECLINED,
    EXPIRED,
    LIVE_STATES,
    OFFERED,
    OPEN,
    PROPOSED,
    REJECTED,
    SCHEDULED,
    SUPERSEDED,
    TAKEN,
    VOID,
    Consultation,
    ConsultationComment,
    ConsultationEvent,
    ConsultationEventPerson,
    ConsultationNotice,
    ConsultationOffer,
    ConsultationSession,
    RelayedMessage,
)
from models.tables import ConversationState, Draft, Opd, User

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
SESSION_HORIZON = timedelta(days=180)
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


def consultation_features(ctx: ServiceContext) -> list[Feature]:
    """The consultation feature and the mentor feature it relies on, for the Dialog."""
    service = ConsultationService(ctx)
    return [service.feature(), MentorService(ctx, service).feature()]


class ConsultationService:
    reminder_kinds = (REMINDER_KIND,)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="consultations",
            service=self,
            commands={
                "konsultasi": lambda s, st, a: self.my_consultations(s, st.user_id),
                "antrean": lambda s, st, a: self.queue(s, st.user_id),
                # The common misspelling, kept working for those who learnt it first.
                "antrian": lambda s, st, a: self.queue(s, st.user_id),
            },
            callbacks={"k": self._callback},
            resend_checks={CHAT: lambda s, st, message_id: cq.relayed(s, st.user_id, message_id)},
            text_flows={
                REQUEST: self.request_text,
                CHAT: self.relay_text,
                COMMENT: self.comment_text,
                SCHEDULE: self.schedule_text,
                RETIME: self.retime_text,
                CLOSE: self.close_text,
                CANCEL: self.cancel_text,
                RATING: self.rating_text,
            },
            media_flows={CHAT: self.relay_media},
            cancel_flows={
                flow: partial(self._leave_flow, flow)
                for flow in (REQUEST, CHAT, COMMENT, SCHEDULE, RETIME, CLOSE, CANCEL, RATING)
            },
            draft_actions=lambda draft_id: [
                Button(RequestAboutDraft(draft_id), label="consult_draft")
            ],
            reply_to=self.route_reply,
            edited_copies=self.edited_copies,
        )

    def _callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        action, args = parts[0], [int(p) for p in parts[1:]]
        actions = {
            "n": lambda: self.start_request(session, user_id),
            "nd": lambda: self.start_request(session, user_id, args[0]),
            "l": lambda: self.my_consultations(session, user_id, edit=True),
            "aq": lambda: self.queue(session, user_id, edit=True),
            "d": lambda: self.choose_draft(session, user_id, args[0]),
            "t": lambda: self.choose_topic(session, user_id, args[0]),
            "tg": lambda: self.choose_topic(session, user_id, None),
            "tp": lambda: self.topic_page(session, user_id, args[0]),
            "ts": lambda: self.skip_times(session, user_id),
            "v": lambda: self.view(session, user_id, args[0]),
            "a": lambda: self.accept(session, user_id, args[0]),
            "x": lambda: self.decline(session, user_id, args[0]),
            "dv": lambda: self.draft_view(session, user_id, args[0]),
            "c": lambda: self.open_chat(session, user_id, args[0]),
            "cm": lambda: self.comment_menu(session, user_id, args[0]),
            "cs": lambda: self.ask_comment(session, user_id, args[0], args[1]),
            "s": lambda: self.ask_schedule(session, user_id, args[0]),
            "sy": lambda: self.confirm_session(session, user_id, args[0]),
            "sn": lambda: self.reject_session(session, user_id, args[0]),
            "z": lambda: self.ask_close(session, user_id, args[0]),
            "q": lambda: self.ask_cancel(session, user_id, args[0]),
            "r": lambda: self.rate(session, user_id, args[0], args[1]),
            "rn": lambda: self.skip_rating_comment(session, user_id, args[0]),
            "h": lambda: self.history(session, user_id, args[0]),
            "al": lambda: self.admin_list(session, user_id, args[0]),
            "ga": lambda: self.assign_menu(session, user_id, args[0]),
            "gm": lambda: self.assign(session, user_id, args[0], args[1]),
        }
        return actions[action]()

    # ---- lists ----------------------------------------------------------------------------------

    def my_consultations(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """/konsultasi: the ASN's own requests, or straight to a new one if there are none."""
        repo.clear_flow(repo.get_state(session, user_id))
        mine = cq.consultations_of_asn(session, user_id)
        if not mine:
            return self.start_request(session, user_id)
        shown = mine[:LIST_LIMIT]
        items = [self._item(session, c) for c in shown]
        rows = [*one_per_row([self._item_button(c) for c in shown])]
        rows.append((Button(data="k:n", label="consult_new"),))
        context = {"items": items, "total": len(mine)}
        return Outcome().add(Reply("consult/my_list", context, keyboard(*rows), edit=edit))

    def queue(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """/antrean (alias /antrian): a mentor's offered and assigned consultations."""
        mentor = active_mentor(session, user_id)
        if mentor is None:
            return not_a_mentor()
        touch(session, mentor)
        repo.clear_flow(repo.get_state(session, user_id))
        mine = cq.consultations_of_mentor(session, user_id)
        live = [c for c in mine if c.status in LIVE_STATES]
        ended = [c for c in mine if c.status in ENDED][:5]
        shown = live + ended
        context = {
            "live": [self._item(session, c) for c in live],
            "ended": [self._item(session, c) for c in ended],
            "mentor": mentor,
            "load": cq.open_counts(session, [user_id])[user_id],
        }
        rows = [*one_per_row([self._item_button(c) for c in shown]), *profile_buttons(mentor)]
        return Outcome().add(Reply("consult/queue", context, keyboard(*rows), edit=edit))

    def admin_list(self, session: Session, user_id: int, page: int) -> Outcome:
        if not self.ctx.is_admin(user_id):
            return _forbidden()
        everything = cq.all_consultations(session)
        pages = max(1, -(-len(everything) // ADMIN_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = everything[page * ADMIN_PAGE : (page + 1) * ADMIN_PAGE]
        nav = []
        if page > 0:
            nav.append(Button(data=f"k:al:{page - 1}", label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(data=f"k:al:{page + 1}", label="next_page"))
        rows = [*one_per_row([self._item_button(c) for c in shown]), tuple(nav)]
        rows.append((Button(data="m:l", label="mentor_list"),))
        context = {
            "items": [self._item(session, c) for c in shown],
            "page": page + 1,
            "pages": pages,
            "total": len(everything),
        }
        return Outcome().add(Reply("consult/admin_list", context, keyboard(*rows), edit=True))

    # ---- asking for a consultation --------------------------------------------------------------

    def start_request(self, session: Session, user_id: int, draft_id: int | None = None) -> Outcome:
        if full := limits.consultations_full(session, user_id, self.ctx.max_open_consultations):
            return full
        state = repo.get_state(session, user_id)
        if draft_id is not None:
            if repo.owned_draft(session, user_id, draft_id) is None:
                return _draft_not_found()
            repo.set_flow(state, REQUEST, step="topic", data={"draft": draft_id})
            return Outcome().add(self._topic_reply(session, draft_id, 0, intro=True))
        drafts = repo.drafts_of(session, user_id)[:DRAFT_CHOICES]
        if not drafts:
            repo.set_flow(state, REQUEST, step="topic", data={"draft": None})
            return Outcome().add(self._topic_reply(session, None, 0, intro=True))
        repo.set_flow(state, REQUEST, step="draft")
        answers = repo.answers_of_many(session, [d.id for d in drafts if d.id is not None])
        buttons = [
            Button(
                data=f"k:d:{d.id}", text=shorten(_draft_title(d, answers.get(d.id or 0, {})), 50)
            )
            for d in drafts
        ]
        buttons.append(Button(data="k:d:0", label="consult_no_draft"))
        return Outcome().add(Reply("consult/ask_draft", {}, one_per_row(buttons)))

    def ask_about_draft(
        self, session: Session, user_id: int, draft_id: int, question: str
    ) -> Outcome:
        """A request about the draft with the question the user already typed: after the
        topic, the question step is skipped (see _take_topic)."""
        outcome = self.start_request(session, user_id, draft_id)
        state = repo.get_state(session, user_id)
        if state.flow == REQUEST and QUESTION_MIN <= len(question.strip()) <= QUESTION_MAX:
            state.data = {**state.data, "question": question.strip()}
        return outcome

    def choose_draft(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "draft":
            return _stale()
        draft = repo.owned_draft(session, user_id, draft_id) if draft_id else None
        if draft_id and draft is None:
            return _draft_not_found()
        repo.set_flow(state, REQUEST, step="topic", data={"draft": draft_id or None})
        title = _draft_title(draft, repo.answers_of(session, draft_id)) if draft else None
        return (
            Outcome()
            .add(Reply("consult/draft_chosen", {"title": title}, edit=True))
            .add(self._topic_reply(session, draft_id or None, 0))
        )

    def topic_page(self, session: Session, user_id: int, page: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "topic":
            return _stale()
        return Outcome().add(self._topic_reply(session, state.data.get("draft"), page, edit=True))

    def choose_topic(self, session: Session, user_id: int, index: int | None) -> Outcome:
        state = repo.get_state(session, user_id)
        options = expertise_options(self.ctx)
        if state.flow != REQUEST or state.step != "topic":
            return _stale()
        if index is not None and not 0 <= index < len(options):
            return _stale()
        topic = options[index] if index is not None else ""
        return self._take_topic(state, topic, edit=True)

    def _take_topic(self, state: ConversationState, topic: str, edit: bool) -> Outcome:
        prefilled = state.data.get("question")
        step = "times" if prefilled else "question"
        repo.set_flow(state, REQUEST, step=step, data={**state.data, "topic": topic})
        outcome = Outcome().add(Reply("consult/topic_chosen", {"topic": topic}, edit=edit))
        if prefilled:
            buttons = keyboard([Button(data="k:ts", label="consult_skip_times")])
            context = {"question": prefilled, "maximum": TIMES_MAX}
            return outcome.add(Reply("consult/ask_times", context, buttons))
        limits = {"minimum": QUESTION_MIN, "maximum": QUESTION_MAX}
        return outcome.add(Reply("consult/ask_question", limits))

    def _topic_reply(
        self,
        session: Session,
        draft_id: int | None,
        page: int,
        edit: bool = False,
        intro: bool = False,
    ) -> Reply:
        options = expertise_options(self.ctx)
        suggested = [o for o in self._draft_fields(session, draft_id) if o in options]
        rows: list[Any] = [
            (
                Button(
                    data=f"k:t:{options.index(o)}",
                    label="consult_topic_suggested",
                    params={"name": shorten(o, 50)},
                ),
            )
            for o in suggested
            if page <= 0  # on the first page only: every topic is listed once
        ]
        # The suggested topics are not listed a second time below them.
        rest = [(i, o) for i, o in enumerate(options) if o not in suggested]
        pages = max(1, -(-len(rest) // TOPIC_PAGE))
        page = min(max(page, 0), pages - 1)
        start = page * TOPIC_PAGE
        rows += one_per_row(
            [Button(data=f"k:t:{i}", text=o) for i, o in rest[start : start + TOPIC_PAGE]]
        )
        nav = []
        if page > 0:
            nav.append(Button(data=f"k:tp:{page - 1}", label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(data=f"k:tp:{page + 1}", label="next_page"))
        rows += [tuple(nav), (Button(data="k:tg", label="consult_topic_general"),)]
        context = {"page": page + 1, "pages": pages, "intro": intro, "suggested": suggested}
        return Reply("consult/ask_topic", context, keyboard(*rows), edit=edit)

    def request_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if state.step == "topic":
            return self._typed_topic(session, state, text)
        if state.step == "question":
            question = text.strip()
            if not QUESTION_MIN <= len(question) <= QUESTION_MAX:
                context = {
                    "minimum": QUESTION_MIN,
                    "maximum": QUESTION_MAX,
                    "length": len(question),
                }
                return Outcome().add(Reply("consult/question_invalid", context))
            repo.set_flow(state, REQUEST, step="times", data={**state.data, "question": question})
            buttons = keyboard([Button(data="k:ts", label="consult_skip_times")])
            return Outcome().add(Reply("consult/ask_times", {"maximum": TIMES_MAX}, buttons))
        if state.step == "times":
            times = " ".join(text.split())
            if not TIMES_MIN <= len(times) <= TIMES_MAX:
                context = {"minimum": TIMES_MIN, "maximum": TIMES_MAX}
                return Outcome().add(Reply("consult/times_invalid", context))
            return self._submit(session, state, times)
        return Outcome().add(Reply("consult/use_buttons"))

    def _typed_topic(self, session: Session, state: ConversationState, text: str) -> Outcome:
        typed = " ".join(text.split()).casefold()
        options = expertise_options(self.ctx)
        words = typed.split()
        matches = [o for o in options if words and all(w in o.casefold() for w in words)]
        if len(matches) == 1:
            return self._take_topic(state, matches[0], edit=False)
        buttons = [Button(data=f"k:t:{options.index(m)}", text=m) for m in matches[:TOPIC_PAGE]]
        buttons.append(Button(data="k:tg", label="consult_topic_general"))
        context = {"text": text.strip()[:100], "count": len(matches)}
        return Outcome().add(Reply("consult/topic_matches", context, one_per_row(buttons)))

    def skip_times(self, session: Session, user_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "times":
            return _stale()
        return self._submit(session, state, None, edit=True)

    def _submit(
        self, session: Session, state: ConversationState, times: str | None, edit: bool = False
    ) -> Outcome:
        """Store the request at once, then route it to mentors."""
        if full := limits.consultations_full(
            session, state.user_id, self.ctx.max_open_consultations
        ):
            repo.clear_flow(state)  # the authority: a flow begun before the limit was lowered
            return full
        data = state.data
        draft_id = data.get("draft")
        if draft_id and repo.owned_draft(session, state.user_id, draft_id) is None:
            draft_id = None  # deleted while the request was being written
        now = self.ctx.now()
        consultation = Consultation(
            asn_id=state.user_id,
            draft_id=draft_id,
            topic=data.get("topic") or "",
            question=data.get("question") or "",
            preferred_times=times,
            status=OPEN,
            announced_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(consultation)
        session.flush()
        self._event(session, consultation, "created", state.user_id, to_status=OPEN)
        repo.clear_flow(state)
        offers = self._route(session, consultation, exclude=set())
        context = {"c": consultation, "offered": len(offers), "admins": bool(self.ctx.admin_ids)}
        buttons = keyboard([Button(data="k:l", label="consult_mine")])
        outcome = Outcome(rebuild=(EXPIRY_KIND,))
        if edit:
            outcome.add(Reply("consult/times_skipped", edit=True))
        outcome.add(Reply("consult/requested", context, buttons))
        outcome.replies.extend(offers)
        if not offers:
            outcome.replies.extend(
                self._tell_admins(session, consultation, "consult/admin_unrouted")
            )
        return outcome

    # ---- routing ---------------------------------------------------------------------------------

    def _route(
        self, session: Session, c: Consultation, exclude: set[int], everyone: bool = False
    ) -> list[Reply]:
        """Offer the request to the least loaded matching mentors with room; with none, to all
        active mentors. Returns the offer messages."""
        eligible = [
            m for m in cq.available_mentors(session, exclude=c.asn_id) if m.user_id not in exclude
        ]
        if not eligible:
            return []
        loads = cq.open_counts(session, [m.user_id for m in eligible])
        by_load = sorted(eligible, key=lambda m: (loads[m.user_id], m.joined_at, m.user_id))
        fields = set(self._draft_fields(session, c.draft_id)) | ({c.topic} - {""})
        matching = [
            m for m in by_load if fields & set(m.expertise) and loads[m.user_id] < m.capacity
        ]
        chosen = matching[:MAX_OFFERS] if matching and not everyone else by_load
        now = self.ctx.now()
        for mentor in chosen:
            offer = cq.offer_of(session, c.id or 0, mentor.user_id)
            if offer is None:
                offer = ConsultationOffer(consultation_id=c.id or 0, mentor_id=mentor.user_id)
            offer.status, offer.round, offer.offered_at = OFFERED, c.announce_round, now
            session.add(offer)
        event = self._event(session, c, "offered", None)
        self._name_people(session, event, [("offered", m.user_id) for m in chosen])
        return [self.offer_reply(session, c, m.user_id) for m in chosen]

    def reannounce(self, session: Session, c: Consultation) -> list[int] | None:
        """The expiry job's second round: offered again to every active mentor who has not
        declined. None if someone else moved the consultation first."""
        previous = c.announce_round
        if not self.transition(
            session,
            c,
            "reannounced",
            None,
            announce_round=previous + 1,
            announced_at=self.ctx.now(),
            extra_where={"announce_round": previous},
        ):
            return None
        declined = {o.mentor_id for o in cq.offers_of(session, c.id or 0) if o.status == DECLINED}
        self._route(session, c, exclude=declined, everyone=True)
        offers = cq.offers_of(session, c.id or 0)
        return [o.mentor_id for o in offers if o.status == OFFERED]

    def expire(self, session: Session, c: Consultation) -> bool:
        if not self.transition(session, c, "expired", None):
            return False
        self._end_offers(session, c)
        return True

    def offer_reply(
        self, session: Session, c: Consultation, mentor_id: int, again: bool = False
    ) -> Reply:
        rows = [
            [
                Button(data=f"k:a:{c.id}", label="consult_accept"),
                Button(data=f"k:x:{c.id}", label="consult_decline"),
            ]
        ]
        if c.draft_id:
            rows.append([Button(data=f"k:dv:{c.id}", label="consult_view_draft")])
        context = {**self._context(session, c), "again": again}
        return Reply("consult/offer", context, keyboard(*rows), to=mentor_id)

    def accept(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = session.get(Consultation, cid)
        mentor = active_mentor(session, user_id)
        offer = cq.offer_of(session, cid, user_id) if c and mentor else None
        if c is None or mentor is None or offer is None:
            return _not_found()
        touch(session, mentor)
        if c.mentor_id == user_id and c.status in ACTIVE_STATES:
            return self.view(session, user_id, cid)
        # The ASN's conversation state is locked before the consultation row, the order every
        # ASN action takes too, so an accept racing the ASN's cancel cannot deadlock.
        asn_state = repo.get_state(session, c.asn_id)
        if offer.status != OFFERED or not self.transition(
            session, c, "accepted", user_id, mentor_id=user_id
        ):
            return self._taken(session, c)
        now = self.ctx.now()
        for other in cq.offers_of(session, cid):
            if other.status == OFFERED:
                other.status = ACCEPTED if other.mentor_id == user_id else TAKEN
                other.answered_at = now
                session.add(other)
        self._enter_chat(session, user_id, c)
        if asn_state.flow == repo.IDLE:
            self._enter_chat(session, c.asn_id, c)
        context = self._context(session, c)
        chat = keyboard([Button(data=f"k:c:{cid}", label="consult_write")])
        outcome = Outcome(notice="consult_accepted")
        outcome.add(
            Reply("consult/accepted", context, self._buttons(session, c, "mentor"), edit=True)
        )
        outcome.add(Reply("consult/accepted_asn", context, chat, to=c.asn_id))
        return outcome

    def decline(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = session.get(Consultation, cid)
        mentor = active_mentor(session, user_id)
        offer = cq.offer_of(session, cid, user_id) if c and mentor else None
        if c is None or mentor is None or offer is None:
            return _not_found()
        touch(session, mentor)
        if offer.status != OFFERED or c.status != OPEN:
            return self._taken(session, c)
        offer.status, offer.answered_at = DECLINED, self.ctx.now()
        session.add(offer)
        self._event(session, c, "declined", user_id)
        outcome = Outcome(notice="consult_declined").add(
            Reply("consult/offer_declined", {"c": c}, edit=True)
        )
        offers = cq.offers_of(session, cid)
        if not any(o.status == OFFERED for o in offers):
            tried = {o.mentor_id for o in offers}
            replies = self._route(session, c, exclude=tried)
            outcome.replies.extend(
                replies or self._tell_admins(session, c, "consult/admin_declined")
            )
        return outcome

    def _taken(self, session: Session, c: Consultation) -> Outcome:
        return Outcome(notice="consult_taken", notice_alert=True).add(
            Reply("consult/offer_taken", {"c": c}, edit=True)
        )

    def withdraw_offers(self, session: Session, mentor_id: int, actor: int | None) -> list[Reply]:
        """A deactivated mentor's waiting offers end; requests left with none are re-routed."""
        replies: list[Reply] = []
        for c in cq.consultations_of_mentor(session, mentor_id):
            offer = cq.offer_of(session, c.id or 0, mentor_id)
            if c.status != OPEN or offer is None or offer.status != OFFERED:
                continue
            offer.status = TAKEN
            session.add(offer)
            offers = cq.offers_of(session, c.id or 0)
            if not any(o.status == OFFERED for o in offers):
                tried = {o.mentor_id for o in offers}
                replies += self._route(session, c, exclude=tried) or self._tell_admins(
                    session, c, "consult/admin_declined"
                )
        return replies

    # ---- an admin assigns an open request ---------------------------------------------------

    def assign_menu(self, session: Session, user_id: int, cid: int) -> Outcome:
        """The admin picks the mentor for a request nobody accepted (or nobody could be
        offered): every active, reachable mentor, with their load."""
        if not self.ctx.is_admin(user_id):
            return _not_found()
        c = session.get(Consultation, cid)
        if c is None:
            return _not_found()
        if c.status != OPEN:
            return self._taken(session, c)
        mentors = cq.available_mentors(session, exclude=c.asn_id)
        loads = cq.open_counts(session, [m.user_id for m in mentors])
        choices = [
            Button(
                data=f"k:gm:{cid}:{m.user_id}",
                label="mentor_reassign_to",
                params={
                    "name": display_name(session, m.user_id)[:30],
                    "load": loads[m.user_id],
                    "capacity": m.capacity,
                },
            )
            for m in mentors
        ]
        rows = [*one_per_row(choices), (Button(data=f"k:v:{cid}", label="consult_back"),)]
        context = {"c": c, "count": len(mentors)}
        return Outcome().add(Reply("consult/assign_menu", context, keyboard(*rows), edit=True))

    def assign(self, session: Session, user_id: int, cid: int, mentor_id: int) -> Outcome:
        """The admin's choice: the request is the mentor's at once; both sides are told."""
        if not self.ctx.is_admin(user_id):
            return _not_found()
        c = session.get(Consultation, cid)
        mentor = active_mentor(session, mentor_id)
        if c is None or mentor is None or mentor_id == c.asn_id:
            return _not_found()
        asn_state = repo.get_state(session, c.asn_id)  # locked first, as in accept
        people = [("to", mentor_id)]
        if not self.transition(session, c, "assigned", user_id, people=people, mentor_id=mentor_id):
            return self._taken(session, c)
        self._end_offers(session, c)
        self._enter_chat(session, mentor_id, c)
        if asn_state.flow == repo.IDLE:
            self._enter_chat(session, c.asn_id, c)
        context = self._context(session, c)
        chat = keyboard([Button(data=f"k:c:{cid}", label="consult_write")])
        outcome = Outcome(notice="saved", rebuild=(EXPIRY_KIND,))
        outcome.add(
            Reply(
                "consult/assigned", context, self._buttons(session, c, "admin", user_id), edit=True
            )
        )
        mentor_keys = self._buttons(session, c, "mentor")
        outcome.add(Reply("consult/assigned_mentor", context, mentor_keys, to=mentor_id))
        outcome.add(Reply("consult/accepted_asn", context, chat, to=c.asn_id))
        return outcome

    def reassign_all(
        self, session: Session, mentor_id: int, target_id: int | None, actor: int
    ) -> tuple[int, list[Reply]]:
        """An admin moves a mentor's assigned consultations to another mentor, or back to
        routing (target None). Proposed and confirmed sessions lapse with the old mentor."""
        replies: list[Reply] = []
        moved = 0
        for c in cq.consultations_of_mentor(session, mentor_id):
            if c.status not in ACTIVE_STATES or c.mentor_id != mentor_id:
                continue
            if target_id is not None:
                people = [("from", mentor_id), ("to", target_id)]
                if not self.transition(
                    session, c, "reassigned", actor, people=people, mentor_id=target_id
                ):
                    continue
                self._void_sessions(session, c)
                context = self._context(session, c)
                replies.append(
                    Reply(
                        "consult/assigned_by_admin",
                        context,
                        self._buttons(session, c, "mentor"),
                        to=target_id,
                    )
                )
                replies.append(Reply("consult/mentor_changed", context, to=c.asn_id))
            else:
                rerouted = self._back_to_routing(session, c, mentor_id, actor)
                if rerouted is None:
                    continue
                replies += rerouted
            replies.append(Reply("consult/reassigned_away", {"c": c}, to=mentor_id))
            moved += 1
        if moved:
            replies += self.offer_waiting(session, mentor_id)  # if still active, room again
        return moved, replies

    def _back_to_routing(
        self,
        session: Session,
        c: Consultation,
        mentor_id: int,
        actor: int | None,
        asn_template: str = "consult/reopened_asn",
    ) -> list[Reply] | None:
        """The consultation is open again and offered to other mentors (or the admins told);
        the ASN is told what happens next. None if someone else moved it first."""
        if not self.transition(
            session,
            c,
            "reopened",
            actor,
            mentor_id=None,
            announce_round=1,
            announced_at=self.ctx.now(),
        ):
            return None
        self._void_sessions(session, c)
        self._end_offers(session, c)
        declined = {o.mentor_id for o in cq.offers_of(session, c.id or 0) if o.status == DECLINED}
        offers = self._route(session, c, exclude=declined | {mentor_id})
        replies = offers or self._tell_admins(session, c, "consult/admin_unrouted")
        context = {**self._context(session, c), "offered": len(offers)}
        replies.append(Reply(asn_template, context, keyboard(_mine_row()), to=c.asn_id))
        return replies

    def mentor_leaving(self, session: Session, mentor_id: int) -> Outcome:
        """A mentor who deletes their account, or is deactivated on the command line (no admin
        at hand to reassign): their waiting offers go to others, their consultations back to
        routing (or to the admins), each ASN is told, and their command menu is reset."""
        mentor = session.get(cq.Mentor, mentor_id)
        if mentor is None:
            return Outcome()
        mentor.active, mentor.updated_at = False, self.ctx.now()
        session.add(mentor)
        outcome = Outcome(rebuild=(REMINDER_KIND, EXPIRY_KIND), menus=(mentor_id,))
        outcome.replies.extend(self.withdraw_offers(session, mentor_id, None))
        for c in cq.consultations_of_mentor(session, mentor_id):
            if c.status in ACTIVE_STATES and c.mentor_id == mentor_id:
                rerouted = self._back_to_routing(
                    session, c, mentor_id, None, asn_template="consult/mentor_left_asn"
                )
                outcome.replies.extend(rerouted or [])
        return outcome

    def mentor_leaving_later(self, session: Session, mentor_id: int) -> int | None:
        """`mentor_leaving` for a process that cannot send (the command line): what it would
        say is written to the expiry job's outbox (consultation_notices) in the same
        transaction, and the running bot sends it. The number of messages queued, None if
        the person is not a mentor."""
        if session.get(cq.Mentor, mentor_id) is None:
            return None
        queued = 0
        for reply in self.mentor_leaving(session, mentor_id).replies:
            c = reply.context.get("c") if isinstance(reply, Reply) else None
            if not isinstance(reply, Reply) or reply.to is None or not isinstance(c, Consultation):
                continue
            kind = OUTBOX_KINDS.get(reply.template, reply.template.split("/", 1)[1])
            if cq.notice_of(session, c.id or 0, kind, c.announce_round, reply.to) is None:
                session.add(
                    ConsultationNotice(
                        consultation_id=c.id or 0,
                        kind=kind,
                        round=c.announce_round,
                        user_id=reply.to,
                        created_at=self.ctx.now(),
                        updated_at=self.ctx.now(),
                    )
                )
                queued += 1
        return queued

    def offer_waiting(self, session: Session, mentor_id: int) -> list[Reply]:
        """Open requests offered to a mentor who just became available (joined, resumed,
        reactivated, or has room again): those of their fields, and every other one that no
        mentor able to take it now has been offered. Nothing if they are paused, unreachable
        or full."""
        mentor = active_mentor(session, mentor_id)
        if mentor is None or mentor.paused or not mentor.reachable:
            return []
        if cq.open_counts(session, [mentor_id])[mentor_id] >= mentor.capacity:
            return []
        replies: list[Reply] = []
        for c in cq.requests_waiting_for(session, mentor_id):
            if len(replies) >= MAX_OFFERS:
                break
            fields = set(self._draft_fields(session, c.draft_id)) | ({c.topic} - {""})
            if not fields & set(mentor.expertise) and self._free_mentor_has(session, c):
                continue
            offer = cq.offer_of(session, c.id or 0, mentor_id)
            if offer is None:
                offer = ConsultationOffer(consultation_id=c.id or 0, mentor_id=mentor_id)
            offer.status, offer.round, offer.offered_at = OFFERED, c.announce_round, self.ctx.now()
            session.add(offer)
            event = self._event(session, c, "offered", None)
            self._name_people(session, event, [("offered", mentor_id)])
            replies.append(self.offer_reply(session, c, mentor_id))
        return replies

    def _free_mentor_has(self, session: Session, c: Consultation) -> bool:
        """Whether a mentor who could take it now (unpaused, with room) has the offer."""
        waiting = [o.mentor_id for o in cq.offers_of(session, c.id or 0) if o.status == OFFERED]
        loads = cq.open_counts(session, waiting)
        for mentor_id in waiting:
            mentor = active_mentor(session, mentor_id)
            if mentor is not None and not mentor.paused and loads[mentor_id] < mentor.capacity:
                return True
        return False

    # ---- seeing a consultation ------------------------------------------------------------------

    def role(self, session: Session, user_id: int, c: Consultation | None) -> str | None:
        """How this user may see the consultation: asn, mentor, offered, admin, or not at all."""
        if c is None:
            return None
        if c.asn_id == user_id:
            return "asn"
        mentor = active_mentor(session, user_id)
        if mentor is not None and c.mentor_id == user_id:
            return "mentor"
        if mentor is not None and c.status == OPEN:
            offer = cq.offer_of(session, c.id or 0, user_id)
            if offer is not None and offer.status == OFFERED:
                return "offered"
        if self.ctx.is_admin(user_id):
            return "admin"
        return None

    def view(self, session: Session, user_id: int, cid: int, edit: bool = True) -> Outcome:
        c = session.get(Consultation, cid)
        role = self.role(session, user_id, c)
        if c is None or role is None:
            return _not_found()
        if role == "offered":
            reply = self.offer_reply(session, c, user_id)
            return Outcome().add(Reply(reply.template, reply.context, reply.buttons, edit=edit))
        context = {**self._context(session, c), "role": role}
        if role == "mentor" and not _reads_draft(role, c):
            context["draft"] = None  # the record of the consultation stays, the draft does not
        buttons = self._buttons(session, c, role, user_id)
        return Outcome().add(Reply("consult/detail", context, buttons, edit=edit))

    def draft_view(self, session: Session, user_id: int, cid: int) -> Outcome:
        """The consulted draft, read-only, for its owner, the mentor(s) it is offered to and
        its mentor while the consultation goes on (see _reads_draft)."""
        c = session.get(Consultation, cid)
        role = self.role(session, user_id, c)
        if c is None or not _reads_draft(role, c) or not c.draft_id:
            return _not_found()
        view = self._draft_view(session, c.draft_id)
        if view is None:
            return _not_found()
        chunks = [Chunk("consult/draft_view_head", {**view.as_context(), "c": c})]
        for number, section in enumerate(view.fmt.sections, start=1):
            value = display_value(section, view.answers.get(section.key))
            if value:
                head = {"section": section, "number": number}
                chunks.append(Chunk("draft/preview_section", head, value))
        if len(chunks) == 1:
            chunks.append(Chunk("draft/preview_empty", {}))
        rows: list[list[Button]] = []
        if role == "mentor" and c.status in ACTIVE_STATES:
            rows.append([Button(data=f"k:cm:{cid}", label="consult_comment")])
        if role == "offered":
            rows.append(
                [
                    Button(data=f"k:a:{cid}", label="consult_accept"),
                    Button(data=f"k:x:{cid}", label="consult_decline"),
                ]
            )
        else:
            rows.append([Button(data=f"k:v:{cid}", label="consult_back")])
        return Outcome(notice="preview_sent").add(LongReply(tuple(chunks), keyboard(*rows)))

    def history(self, session: Session, user_id: int, cid: int) -> Outcome:
        """Every state change with time and actor: for admins."""
        if not self.ctx.is_admin(user_id):
            return _not_found()
        c = session.get(Consultation, cid)
        if c is None:
            return _not_found()
        chunks = [Chunk("consult/history_head", self._context(session, c))]
        names: dict[int, str] = {}
        events = cq.events_of(session, cid)
        people = cq.people_of(session, [e.id for e in events if e.id is not None])
        for event in events:
            actor = None
            if event.actor_id is not None:
                names.setdefault(event.actor_id, display_name(session, event.actor_id))
                actor = names[event.actor_id]
            about = _names_by_role(session, people.get(event.id or 0, []))
            context = {"e": event, "actor": actor, "people": about}
            chunks.append(Chunk("consult/history_event", context, event.detail or ""))
        buttons = keyboard([Button(data=f"k:v:{cid}", label="consult_back")])
        return Outcome().add(LongReply(tuple(chunks), buttons))

    # ---- the conversation -----------------------------------------------------------------------

    def open_chat(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = session.get(Consultation, cid)
        role = self.role(session, user_id, c)
        if c is None or role not in ("asn", "mentor"):
            return _not_found()
        if c.status == OPEN:
            return Outcome().add(Reply("consult/chat_not_yet", {"c": c}))
        if c.status not in ACTIVE_STATES:
            return Outcome().add(Reply("consult/chat_closed", {"c": c}))
        self._enter_chat(session, user_id, c)
        other = c.mentor_id if role == "asn" else c.asn_id
        context = {"c": c, "other": display_name(session, other), "role": role}
        return Outcome().add(Reply("consult/chat_open", context))

    def _enter_chat(
        self, session: Session, user_id: int, c: Consultation, reply_to: int | None = None
    ) -> None:
        data: dict[str, Any] = {"consultation": c.id}
        if reply_to is not None:
            data["reply_to"] = reply_to
        repo.set_flow(repo.get_state(session, user_id), CHAT, data=data)

    def relay_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        return self._relay(session, state, None)

    def relay_media(self, session: Session, state: ConversationState, media: Media) -> Outcome:
        if media.kind not in RELAYABLE:
            return Outcome().add(Reply("consult/relay_unsupported", {"kind": media.kind}))
        return self._relay(session, state, media)

    def _relay(self, session: Session, state: ConversationState, media: Media | None) -> Outcome:
        """Pass what the user sent to the other side, headed with who and which consultation."""
        c = session.get(Consultation, state.data.get("consultation") or 0)
        role = self.role(session, state.user_id, c)
        other = (c.mentor_id if role == "asn" else c.asn_id) if c is not None else None
        if c is None or role not in ("asn", "mentor") or c.status not in ACTIVE_STATES:
            repo.clear_flow(state)
            waiting = c is not None and c.status == OPEN and role == "asn"
            template = "consult/chat_not_yet" if waiting else "consult/chat_closed"
            return Outcome().add(Reply(template, {"c": c}))
        if other is None:  # the mentor's account is gone (data from before 0008)
            repo.clear_flow(state)
            return Outcome().add(Reply("consult/chat_not_yet", {"c": c}))
        reply_to = state.data.get("reply_to")
        if reply_to is not None:
            state.data = {"consultation": c.id}
        header = Reply(
            "consult/relay_header",
            {"c": c, "sender": display_name(session, state.user_id), "role": role},
            keyboard([Button(data=f"k:c:{c.id}", label="consult_reply")]),
        )
        record = partial(self.record_relay, c.id or 0, state.user_id, other)
        return Outcome().add(
            CopyReply(
                to=other,
                header=header,
                from_chat_id=state.user_id,
                message_id=media.message_id if media else None,
                reply_to_message_id=reply_to,
                on_result=record,
            )
        )

    def record_relay(
        self,
        cid: int,
        sender: int,
        recipient: int,
        source_id: int,
        copy_id: int | None,
        status: str,
        header_id: int | None = None,
    ) -> Outcome | None:
        """After a relay: keep the message ids; tell the sender if it did not arrive."""
        with self.ctx.db.session() as session:
            session.add(
                RelayedMessage(
                    consultation_id=cid,
                    from_chat_id=sender,
                    from_message_id=source_id,
                    to_chat_id=recipient,
                    to_message_id=copy_id,
                    header_message_id=header_id,
                    status=status,
                    created_at=self.ctx.now(),
                )
            )
            if status == "sent":
                return None
            if status == "blocked":
                _mark_unreachable(session, recipient)
            context = {"cid": cid, "other": display_name(session, recipient)}
            template = "consult/relay_blocked" if status == "blocked" else "consult/relay_failed"
            return Outcome().add(Reply(template, context))

    def route_reply(self, user_id: int, replied_message_id: int) -> bool:
        """A Telegram reply to a relayed message speaks in that message's consultation (and
        threads under its counterpart). True if the reply belongs to a conversation."""
        with self.ctx.db.session() as session:
            relayed = cq.relay_by_copy(session, user_id, replied_message_id)
            if relayed is None:
                return False
            c = session.get(Consultation, relayed.consultation_id)
            if self.role(session, user_id, c) not in ("asn", "mentor") or c is None:
                return False
            if c.status not in ACTIVE_STATES:
                return False
            if relayed.to_chat_id == user_id:
                counterpart = relayed.from_message_id
            else:
                counterpart = relayed.to_message_id
            self._enter_chat(session, user_id, c, reply_to=counterpart)
            return True

    def edited_copies(self, user_id: int, message_id: int) -> list[tuple[int, int]]:
        """Where an edited message was copied to, in conversations still going on."""
        with self.ctx.db.session() as session:
            found = []
            for relayed in cq.copies_of(session, user_id, message_id):
                c = session.get(Consultation, relayed.consultation_id)
                if c is not None and c.status in ACTIVE_STATES and relayed.to_message_id:
                    found.append((relayed.to_chat_id, relayed.to_message_id))
            return found

    # ---- comments on the draft ------------------------------------------------------------------

    def comment_menu(self, session: Session, user_id: int, cid: int) -> Outcome:
        c, view = self._mentor_draft(session, user_id, cid)
        if c is None or view is None:
            return _not_found()
        buttons = [
            Button(
                data=f"k:cs:{cid}:{i}",
                label="section_filled" if view.answers.get(s.key) else "section_empty",
                params={"number": i + 1, "title": shorten(s.title, 40)},
            )
            for i, s in enumerate(view.fmt.sections)
        ]
        rows = [*one_per_row(buttons), (Button(data=f"k:v:{cid}", label="consult_back"),)]
        context = {**view.as_context(), "c": c}
        return Outcome().add(Reply("consult/comment_menu", context, keyboard(*rows)))

    def ask_comment(self, session: Session, user_id: int, cid: int, index: int) -> Outcome:
        c, view = self._mentor_draft(session, user_id, cid)
        if c is None or view is None or not 0 <= index < len(view.fmt.sections):
            return _not_found()
        section = view.fmt.sections[index]
        state = repo.get_state(session, user_id)
        repo.set_flow(state, COMMENT, data={"consultation": cid, "section": section.key})
        current = display_value(section, view.answers.get(section.key))
        context = {"c": c, "section": section, "current": current, "maximum": COMMENT_MAX}
        return Outcome().add(Reply("consult/comment_ask", context, edit=True))

    def comment_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        cid = state.data.get("consultation") or 0
        c, view = self._mentor_draft(session, state.user_id, cid)
        key = state.data.get("section") or ""
        if c is None or view is None or not view.fmt.has_section(key):
            repo.clear_flow(state)
            return _not_found()
        comment = text.strip()
        if not COMMENT_MIN <= len(comment) <= COMMENT_MAX:
            context = {"minimum": COMMENT_MIN, "maximum": COMMENT_MAX}
            return Outcome().add(Reply("consult/comment_invalid", context))
        section = view.fmt.section(key)
        session.add(
            ConsultationComment(
                consultation_id=cid,
                draft_id=c.draft_id or 0,
                section_key=key,
                mentor_id=state.user_id,
                text=comment,
                created_at=self.ctx.now(),
            )
        )
        self._event(session, c, "commented", state.user_id, detail=section.title)
        repo.clear_flow(state)
        context = {**self._context(session, c), "section": section, "comment": comment}
        open_section = keyboard(
            [
                Button(
                    data=f"d:s:{c.draft_id}:{view.fmt.index(key)}",
                    label="consult_open_section",
                )
            ]
        )
        mentor_buttons = keyboard(
            [Button(data=f"k:cm:{cid}", label="consult_comment_more")],
            [Button(data=f"k:v:{cid}", label="consult_back")],
        )
        return (
            Outcome()
            .add(Reply("consult/comment_saved", context, mentor_buttons))
            .add(Reply("consult/comment_notice", context, open_section, to=c.asn_id))
        )

    # ---- sessions --------------------------------------------------------------------------------

    def ask_schedule(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = self._assigned(session, user_id, cid)
        if c is None:
            return _not_found()
        repo.set_flow(repo.get_state(session, user_id), SCHEDULE, data={"consultation": cid})
        example = (self.ctx.now().astimezone(self.ctx.tz) + timedelta(days=2)).date()
        context = {"c": c, "example": example, "example_month": MONTHS_ID[example.month - 1]}
        return Outcome().add(Reply("consult/schedule_ask", context))

    def schedule_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        cid = state.data.get("consultation") or 0
        c = self._assigned(session, state.user_id, cid)
        if c is None:
            repo.clear_flow(state)
            return _not_found()
        try:
            starts_at, note = parse_session_time(text, self.ctx.now(), self.ctx.tz)
        except SessionTimeError as invalid:
            context = {"reason": invalid.reason, "text": text.strip()[:100]}
            return Outcome().add(Reply("consult/schedule_invalid", context))
        now = self.ctx.now()
        for old in cq.sessions_of(session, cid):
            if old.status == PROPOSED:
                old.status, old.decided_at = SUPERSEDED, now
                session.add(old)
        proposal = ConsultationSession(
            consultation_id=cid,
            starts_at=starts_at,
            note=note,
            status=PROPOSED,
            proposed_by=state.user_id,
            created_at=now,
        )
        session.add(proposal)
        session.flush()
        self._event(
            session, c, "session_proposed", state.user_id, detail=_when(starts_at, self.ctx.tz)
        )
        repo.clear_flow(state)
        context = {**self._context(session, c), "proposal": proposal}
        answer = keyboard(
            [
                Button(data=f"k:sy:{proposal.id}", label="consult_session_yes"),
                Button(data=f"k:sn:{proposal.id}", label="consult_session_no"),
            ]
        )
        return (
            Outcome()
            .add(Reply("consult/schedule_proposed", context))
            .add(Reply("consult/session_proposal", context, answer, to=c.asn_id))
        )

    def confirm_session(self, session: Session, user_id: int, sid: int) -> Outcome:
        proposal, c = self._asn_session(session, user_id, sid)
        if proposal is None or c is None:
            return _not_found()
        if proposal.status != PROPOSED or c.status not in ACTIVE_STATES:
            return _stale()
        if proposal.starts_at <= self.ctx.now():
            return Outcome().add(Reply("consult/session_past", {"c": c}, edit=True))
        if not self.transition(
            session, c, "session_confirmed", user_id, detail=_when(proposal.starts_at, self.ctx.tz)
        ):
            return _stale()
        proposal.status, proposal.decided_at = CONFIRMED, self.ctx.now()
        session.add(proposal)
        context = {**self._context(session, c), "proposal": proposal}
        outcome = Outcome(notice="consult_session_confirmed", rebuild=(REMINDER_KIND,))
        outcome.add(Reply("consult/session_confirmed", context, edit=True))
        outcome.add(Reply("consult/session_confirmed_mentor", context, to=c.mentor_id))
        return outcome

    def reject_session(self, session: Session, user_id: int, sid: int) -> Outcome:
        proposal, c = self._asn_session(session, user_id, sid)
        if proposal is None or c is None:
            return _not_found()
        if proposal.status != PROPOSED or c.status not in ACTIVE_STATES:
            return _stale()
        proposal.status, proposal.decided_at = REJECTED, self.ctx.now()
        session.add(proposal)
        self._event(
            session, c, "session_rejected", user_id, detail=_when(proposal.starts_at, self.ctx.tz)
        )
        repo.set_flow(repo.get_state(session, user_id), RETIME, data={"consultation": c.id})
        context = {**self._context(session, c), "proposal": proposal}
        propose = keyboard([Button(data=f"k:s:{c.id}", label="consult_schedule")])
        return (
            Outcome(notice="saved")
            .add(Reply("consult/retime_ask", context, edit=True))
            .add(Reply("consult/session_rejected_mentor", context, propose, to=c.mentor_id))
        )

    def retime_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        """The ASN's preferred other time, passed to the mentor."""
        c = session.get(Consultation, state.data.get("consultation") or 0)
        repo.clear_flow(state)
        if c is None or c.asn_id != state.user_id or c.status not in ACTIVE_STATES:
            return _not_found()
        times = " ".join(text.split())[:TIMES_MAX]
        self._event(session, c, "other_time_asked", state.user_id, detail=times)
        context = {**self._context(session, c), "times": times}
        propose = keyboard([Button(data=f"k:s:{c.id}", label="consult_schedule")])
        return (
            Outcome()
            .add(Reply("consult/retime_sent", context))
            .add(Reply("consult/retime_note", context, propose, to=c.mentor_id))
        )

    # ---- closing, rating, cancelling -------------------------------------------------------------

    def ask_close(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = self._assigned(session, user_id, cid)
        if c is None:
            return _not_found()
        repo.set_flow(repo.get_state(session, user_id), CLOSE, data={"consultation": cid})
        context = {"c": c, "minimum": SUMMARY_MIN, "maximum": SUMMARY_MAX}
        return Outcome().add(Reply("consult/close_ask", context))

    def close_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        c = self._assigned(session, state.user_id, state.data.get("consultation") or 0)
        if c is None:
            repo.clear_flow(state)
            return _not_found()
        summary = text.strip()
        if not SUMMARY_MIN <= len(summary) <= SUMMARY_MAX:
            context = {"minimum": SUMMARY_MIN, "maximum": SUMMARY_MAX}
            return Outcome().add(Reply("consult/close_invalid", context))
        if not self.transition(session, c, "closed", state.user_id, summary=summary):
            repo.clear_flow(state)
            return Outcome().add(Reply("consult/chat_closed", {"c": c}))
        repo.clear_flow(state)
        self._void_sessions(session, c)
        context = self._context(session, c)
        stars = [
            Button(data=f"k:r:{c.id}:{n}", label="consult_star", params={"n": n})
            for n in range(1, 6)
        ]
        outcome = (
            Outcome(rebuild=(REMINDER_KIND,))
            .add(Reply("consult/closed", context))
            .add(Reply("consult/closed_asn", context, in_rows(stars, 5), to=c.asn_id))
        )
        outcome.replies.extend(self.offer_waiting(session, state.user_id))  # room again
        return outcome

    def rate(self, session: Session, user_id: int, cid: int, stars: int) -> Outcome:
        c = session.get(Consultation, cid)
        if c is None or c.asn_id != user_id:
            return _not_found()
        if c.status != CLOSED or not 1 <= stars <= 5:
            return _stale()
        if c.rating is not None:
            return Outcome(notice="consult_already_rated", notice_alert=True)
        c.rating = stars
        session.add(c)
        self._event(session, c, "rated", user_id, detail=f"{stars}/5")
        repo.set_flow(repo.get_state(session, user_id), RATING, data={"consultation": cid})
        skip = keyboard([Button(data=f"k:rn:{cid}", label="consult_skip_comment")])
        context = {"c": c, "stars": stars, "maximum": RATING_COMMENT_MAX}
        return Outcome(notice="consult_rated").add(
            Reply("consult/rating_thanks", context, skip, edit=True)
        )

    def rating_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        c = session.get(Consultation, state.data.get("consultation") or 0)
        repo.clear_flow(state)
        if c is None or c.asn_id != state.user_id or c.rating is None:
            return _not_found()
        c.rating_comment = text.strip()[:RATING_COMMENT_MAX]
        session.add(c)
        return Outcome().add(Reply("consult/rating_comment_saved", {"c": c}))

    def skip_rating_comment(self, session: Session, user_id: int, cid: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != RATING or state.data.get("consultation") != cid:
            return _stale()
        repo.clear_flow(state)
        c = session.get(Consultation, cid)
        return Outcome().add(Reply("consult/rating_comment_saved", {"c": c}, edit=True))

    def ask_cancel(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = session.get(Consultation, cid)
        role = self.role(session, user_id, c)
        if c is None or role not in ("asn", "mentor"):
            return _not_found()
        if c.status not in LIVE_STATES:
            return Outcome().add(Reply("consult/chat_closed", {"c": c}))
        repo.set_flow(repo.get_state(session, user_id), CANCEL, data={"consultation": cid})
        context = {"c": c, "minimum": REASON_MIN, "maximum": REASON_MAX}
        return Outcome().add(Reply("consult/cancel_ask", context))

    def cancel_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        c = session.get(Consultation, state.data.get("consultation") or 0)
        role = self.role(session, state.user_id, c)
        if c is None or role not in ("asn", "mentor"):
            repo.clear_flow(state)
            return _not_found()
        reason = " ".join(text.split())
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            context = {"minimum": REASON_MIN, "maximum": REASON_MAX}
            return Outcome().add(Reply("consult/cancel_invalid", context))
        repo.clear_flow(state)
        mentor_id = c.mentor_id
        if not self.transition(
            session, c, "cancelled", state.user_id, detail=reason, cancel_reason=reason
        ):
            return Outcome().add(Reply("consult/chat_closed", {"c": c}))
        self._end_offers(session, c)
        self._void_sessions(session, c)
        context = {**self._context(session, c), "reason": reason, "by": role}
        outcome = Outcome(rebuild=(REMINDER_KIND, EXPIRY_KIND))
        outcome.add(Reply("consult/cancelled", context))
        other = mentor_id if role == "asn" else c.asn_id
        if other is not None:
            outcome.add(Reply("consult/cancelled_other", context, to=other))
        if mentor_id is not None:
            outcome.replies.extend(self.offer_waiting(session, mentor_id))  # room again
        return outcome

    def _leave_flow(
        self, flow: str, session: Session, state: ConversationState, args: str
    ) -> Outcome:
        """/batal inside a consultation flow: nothing is changed, the flow is left."""
        repo.clear_flow(state)
        return Outcome().add(Reply("consult/flow_left", {"flow": flow}))

    # ---- for the scheduled jobs -----------------------------------------------------------------

    def context_of(self, session: Session, c: Consultation) -> dict[str, Any]:
        return self._context(session, c)

    def tell_admins(self, session: Session, c: Consultation, template: str) -> list[Reply]:
        return self._tell_admins(session, c, template)

    # ---- internals ------------------------------------------------------------------------------

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

    def _name_people(
        self, session: Session, event: ConsultationEvent, people: list[tuple[str, int]]
    ) -> None:
        """Who an event is about, by reference: names are looked up when the history is shown."""
        session.flush()
        for role, user_id in people:
            session.add(ConsultationEventPerson(event_id=event.id or 0, role=role, user_id=user_id))

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

    def _tell_admins(self, session: Session, c: Consultation, template: str) -> list[Reply]:
        context = self._context(session, c)
        view = keyboard([Button(data=f"k:v:{c.id}", label="consult_open")])
        return [Reply(template, context, view, to=admin) for admin in sorted(self.ctx.admin_ids)]

    def _assigned(self, session: Session, user_id: int, cid: int) -> Consultation | None:
        """The consultation if this user is its (active) mentor and it is still going on."""
        c = session.get(Consultation, cid)
        if self.role(session, user_id, c) != "mentor" or c is None:
            return None
        return c if c.status in ACTIVE_STATES else None

    def _mentor_draft(
        self, session: Session, user_id: int, cid: int
    ) -> tuple[Consultation | None, DraftView | None]:
        c = self._assigned(session, user_id, cid)
        if c is None or not c.draft_id:
            return None, None
        return c, self._draft_view(session, c.draft_id)

    def _asn_session(
        self, session: Session, user_id: int, sid: int
    ) -> tuple[ConsultationSession | None, Consultation | None]:
        proposal = session.get(ConsultationSession, sid)
        c = session.get(Consultation, proposal.consultation_id) if proposal else None
        if c is None or c.asn_id != user_id:
            return None, None
        return proposal, c

    def _draft_view(self, session: Session, draft_id: int) -> DraftView | None:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return None
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        return DraftView(draft=draft, fmt=fmt, answers=repo.answers_of(session, draft_id))

    def _draft_fields(self, session: Session, draft_id: int | None) -> list[str]:
        """The draft's answers that name a field of expertise (bentuk, urusan)."""
        if not draft_id:
            return []
        answers = repo.answers_of(session, draft_id)
        options = set(expertise_options(self.ctx))
        return [v for k, v in sorted(answers.items()) if v in options]

    def _context(self, session: Session, c: Consultation) -> dict[str, Any]:
        asn = session.get(User, c.asn_id)
        opd = session.get(Opd, asn.opd_id) if asn and asn.opd_id else None
        view = self._draft_view(session, c.draft_id) if c.draft_id else None
        draft = None
        if view is not None:
            fields = [
                (s.title, display_value(s, view.answers.get(s.key)))
                for s in view.fmt.sections
                if s.kind == "choice" and view.answers.get(s.key)
            ]
            # The mentor sees what the readiness check sees: weak points and next steps.
            readiness = readiness_of_draft(session, view.fmt, view.draft.id)
            draft = {**view.as_context(), "fields": fields, "readiness": readiness}
        sessions = cq.sessions_of(session, c.id or 0)
        return {
            "c": c,
            "asn": display_name(session, c.asn_id),
            "opd": opd.name if opd else "",
            "mentor": display_name(session, c.mentor_id) if c.mentor_id else None,
            "draft": draft,
            "proposal": next((s for s in reversed(sessions) if s.status == PROPOSED), None),
            "confirmed": [s for s in sessions if s.status == CONFIRMED],
            "now": self.ctx.now(),
            "admins": bool(self.ctx.admin_ids),
        }

    def _buttons(
        self, session: Session, c: Consultation, role: str, user_id: int | None = None
    ) -> Keyboard:
        cid = c.id
        rows: list[list[Button]] = []
        active = c.status in ACTIVE_STATES
        if role == "asn":
            if active:
                rows.append([Button(data=f"k:c:{cid}", label="consult_write")])
                proposal = next(
                    (s for s in cq.sessions_of(session, cid or 0) if s.status == PROPOSED), None
                )
                if proposal is not None:
                    rows.append(
                        [
                            Button(data=f"k:sy:{proposal.id}", label="consult_session_yes"),
                            Button(data=f"k:sn:{proposal.id}", label="consult_session_no"),
                        ]
                    )
            if c.status == CLOSED and c.rating is None:
                rows.append(
                    [
                        Button(data=f"k:r:{cid}:{n}", label="consult_star", params={"n": n})
                        for n in range(1, 6)
                    ]
                )
            if c.status in LIVE_STATES:
                rows.append([Button(data=f"k:q:{cid}", label="consult_cancel")])
            rows.append([Button(data="k:l", label="consult_mine")])
        elif role == "mentor":
            if active:
                rows.append([Button(data=f"k:c:{cid}", label="consult_write")])
                if c.draft_id:
                    rows.append(
                        [
                            Button(data=f"k:dv:{cid}", label="consult_view_draft"),
                            Button(data=f"k:cm:{cid}", label="consult_comment"),
                        ]
                    )
                rows.append([Button(data=f"k:s:{cid}", label="consult_schedule")])
                rows.append(
                    [
                        Button(data=f"k:z:{cid}", label="consult_close"),
                        Button(data=f"k:q:{cid}", label="consult_cancel"),
                    ]
                )
            rows.append([Button(data="k:aq", label="consult_queue")])
        if user_id is not None and self.ctx.is_admin(user_id):
            if role == "admin" and c.status == OPEN:
                rows.append([Button(data=f"k:ga:{cid}", label="consult_assign")])
            rows.append([Button(data=f"k:h:{cid}", label="consult_history")])
            if role == "admin":
                rows.append([Button(data="k:al:0", label="consult_all")])
        return keyboard(*rows)

    def _item(self, session: Session, c: Consultation) -> dict[str, Any]:
        return {
            "c": c,
            "asn": display_name(session, c.asn_id),
            "mentor": display_name(session, c.mentor_id) if c.mentor_id else None,
        }

    def _item_button(self, c: Consultation) -> Button:
        topic = c.topic or "Umum"
        return Button(
            data=f"k:v:{c.id}",
            label=f"consult_item_{c.status}",
            params={"id": c.id, "topic": shorten(topic, 35)},
        )


# ---- session times typed the way people type them ------------------------------------------------


class SessionTimeError(ValueError):
    """Why a typed session time was refused: unrecognised, past or too_far."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_MONTHS = {
    **{name.lower(): i for i, name in enumerate(MONTHS_ID, start=1)},
    **{name[:3].lower(): i for i, name in enumerate(MONTHS_ID, start=1)},
    "agt": 8,
    "ags": 8,
    "sept": 9,
    "nop": 11,
    "nov": 11,
    "pebruari": 2,
    "peb": 2,
    "may": 5,
    "aug": 8,
    "oct": 10,
    "dec": 12,
}
_WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
}
_RELATIVE = {"hari ini": 0, "besok": 1, "lusa": 2}
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_FULL = re.compile(r"\b(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})\b")
_DATE_SHORT = re.compile(r"\b(\d{1,2})[/\-](\d{1,2})\b")
_DATE_NAMED = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_WORD})\.?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_RELATIVE_WORD = re.compile(r"\b(hari ini|besok|lusa)\b", re.IGNORECASE)
_WEEKDAY_WORD = re.compile(
    r"\b(senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad)\b", re.IGNORECASE
)
_TIME = re.compile(r"(?:\b(?:pukul|pkl\.?|jam)\s*)?\b(\d{1,2})[.:](\d{2})\b", re.IGNORECASE)
_HOUR_ONLY = re.compile(r"\b(?:pukul|pkl\.?|jam)\s*(\d{1,2})\b", re.IGNORECASE)
_DAYPART = re.compile(r"\b(pagi|siang|sore|malam)\b", re.IGNORECASE)
_NOISE = re.compile(r"\b(wita|wib|wit|tanggal|tgl\.?|hari|depan)\b", re.IGNORECASE)


def parse_session_time(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """A date and time in the region's zone, e.g. "25/11/2026 10.00 di Ruang Klinik",
    "Senin, 30 November pukul 9.30 via Zoom", "besok jam 14.00". Returns the UTC time and
    what else was typed (the place, a link) as a note."""
    rest = " " + " ".join(text.split()) + " "
    today = now.astimezone(tz).date()
    day, rest, year_given = _take_date(rest, today)
    clock, rest = _take_time(rest)
    if day is None or clock is None:
        raise SessionTimeError("unrecognised")
    local = datetime.combine(day, clock, tzinfo=tz)
    if not year_given and local <= now:
        try:
            local = local.replace(year=local.year + 1)
        except ValueError as exc:  # 29 February
            raise SessionTimeError("unrecognised") from exc
    starts_at = local.astimezone(now.tzinfo)
    if starts_at <= now:
        raise SessionTimeError("past")
    if starts_at > now + SESSION_HORIZON:
        raise SessionTimeError("too_far")
    note = _NOISE.sub(" ", rest)
    note = " ".join(note.split()).strip(" ,;:-–—")
    return starts_at, (note[:200] or None)


def _take_date(text: str, today: date) -> tuple[date | None, str, bool]:
    """(the date, the text without it, whether a year was typed)."""
    found = _DATE_FULL.search(text)
    if found:
        d, _, m, y = found.groups()
        year = int(y) + (2000 if len(y) == 2 else 0)
        return _date(year, int(m), int(d)), _cut(text, found), True
    found = _DATE_NAMED.search(text)
    if found:
        d, month, y = found.groups()
        year = int(y) if y else today.year
        text = _WEEKDAY_WORD.sub(" ", _cut(text, found))
        return _date(year, _MONTHS[month.lower()], int(d)), text, bool(y)
    found = _DATE_SHORT.search(text)
    if found:
        d, m = found.groups()
        text = _WEEKDAY_WORD.sub(" ", _cut(text, found))
        return _date(today.year, int(m), int(d)), text, False
    found = _RELATIVE_WORD.search(text)
    if found:
        return today + timedelta(days=_RELATIVE[found.group(1).lower()]), _cut(text, found), True
    found = _WEEKDAY_WORD.search(text)
    if found:
        wanted = _WEEKDAYS[found.group(1).lower()]
        ahead = (wanted - today.weekday()) % 7
        return today + timedelta(days=ahead), _cut(text, found), True
    return None, text, False


def _take_time(text: str) -> tuple[time | None, str]:
    found = _TIME.search(text)
    hour = minute = None
    if found:
        hour, minute = int(found.group(1)), int(found.group(2))
    else:
        found = _HOUR_ONLY.search(text)
        if found:
            hour, minute = int(found.group(1)), 0
    if found is None or hour is None or minute is None:
        return None, text
    text = _cut(text, found)
    part = _DAYPART.search(text)
    if part:
        word = part.group(1).lower()
        if (word in ("sore", "malam") and hour < 12) or (word == "siang" and hour < 6):
            hour += 12
        text = _cut(text, part)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None, text
    return time(hour, minute), text


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _cut(text: str, found: re.Match[str]) -> str:
    return text[: found.start()] + " " + text[found.end() :]


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return format_datetime_id(moment, tz)


# ---- small helpers ------------------------------------------------------------------------------


def _draft_title(draft: Draft | None, answers: dict[str, str]) -> str:
    if draft is None:
        return ""
    return draft.title or answers.get("nama") or f"Draf #{draft.id}"


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
    return [Button(data="k:l", label="consult_mine")]


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


def _forbidden() -> Outcome:
    return Outcome(notice="forbidden", notice_alert=True).add(Reply("common/forbidden"))
