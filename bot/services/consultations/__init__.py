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

from functools import partial

from sqlmodel import Session

from bot.services.consultations.admin import AdminViews
from bot.services.consultations.closing import Closing
from bot.services.consultations.conversation import Conversation
from bot.services.consultations.lifecycle import (
    CANCEL,
    CHAT,
    CLOSE,
    COMMENT,
    EXPIRY_KIND,
    OUTBOX_KINDS,
    RATING,
    REMINDER_KIND,
    REQUEST,
    RETIME,
    SCHEDULE,
    TRANSITIONS,
    Lifecycle,
)
from bot.services.consultations.mentors import MentorService
from bot.services.consultations.offers import Offers
from bot.services.consultations.requests import Requests
from bot.services.consultations.routes import RequestAboutDraft
from bot.services.consultations.sessions import Sessions
from bot.services.consultations.views import Views
from bot.services.consultations.when import SessionTimeError, parse_session_time
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.replies import Button, Outcome
from models import consultations as cq

__all__ = [
    "EXPIRY_KIND",
    "OUTBOX_KINDS",
    "REMINDER_KIND",
    "TRANSITIONS",
    "ConsultationService",
    "SessionTimeError",
    "consultation_features",
    "parse_session_time",
]


def consultation_features(ctx: ServiceContext) -> list[Feature]:
    """The consultation feature and the mentor feature it relies on, for the Dialog."""
    service = ConsultationService(ctx)
    return [service.feature(), MentorService(ctx, service).feature()]


class ConsultationService(
    Requests, Offers, Conversation, Sessions, Closing, AdminViews, Views, Lifecycle
):
    """The consultation feature, assembled from the rooms of its lifecycle."""

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
