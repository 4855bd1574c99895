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

The rooms, in the order a consultation lives (each a mixin of `ConsultationService`, all on
`lifecycle.Lifecycle`; none imports this package, so there is no cycle):

    routes.py        every k: and m: button, as typed routes
    requests.py      an ASN's request: draft, topic, question, routing to mentors
    offers.py        offers to mentors, their queue, requests waiting for a free mentor
    conversation.py  the relayed conversation and the mentor's comments on the draft
    sessions.py      scheduling a session (the typed time is parsed by bot/services/language.py)
    closing.py       closing, rating, cancelling
    admin.py         the admins' list, assigning, reassigning, the history
    views.py         one consultation as each person sees it (card, buttons, draft)
    lifecycle.py     the transitions, the event log, telling admins, the shared limits
    mentors.py       the mentor feature: invites, profile, pause/resume, the admins' management
"""

from __future__ import annotations

from functools import partial

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
from bot.services.consultations.routes import (
    AcceptConsultation,
    AllConsultations,
    AskCancel,
    AskClose,
    AskComment,
    AskSchedule,
    AssignMentor,
    AssignMenu,
    ChooseGeneralTopic,
    ChooseRequestDraft,
    ChooseTopic,
    CommentMenu,
    ConfirmSession,
    ConsultationHistory,
    DeclineConsultation,
    MentorQueue,
    MyConsultations,
    OpenChat,
    Rate,
    RejectSession,
    RequestAboutDraft,
    SkipRatingComment,
    SkipTimes,
    StartRequest,
    TopicPage,
    ViewConsultation,
    ViewConsultedDraft,
)
from bot.services.consultations.sessions import Sessions
from bot.services.consultations.views import Views
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.language import SessionTimeError, parse_session_time
from bot.services.replies import Button
from bot.services.roles import Role
from models import consultations as cq

__all__ = [
    "EXPIRY_KIND",
    "OUTBOX_KINDS",
    "REMINDER_KIND",
    "TRANSITIONS",
    "ConsultationService",
    "MentorService",
    "SessionTimeError",
    "parse_session_time",
]


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
            unlisted_commands=frozenset({"antrian"}),  # the other spelling of /antrean
            routes={
                StartRequest: lambda s, u, r: self.start_request(s, u),
                RequestAboutDraft: lambda s, u, r: self.start_request(s, u, r.draft_id),
                MyConsultations: lambda s, u, r: self.my_consultations(s, u, edit=True),
                MentorQueue: lambda s, u, r: self.queue(s, u, edit=True),
                ChooseRequestDraft: lambda s, u, r: self.choose_draft(s, u, r.draft_id),
                ChooseTopic: lambda s, u, r: self.choose_topic(s, u, r.index),
                ChooseGeneralTopic: lambda s, u, r: self.choose_topic(s, u, None),
                TopicPage: lambda s, u, r: self.topic_page(s, u, r.page),
                SkipTimes: lambda s, u, r: self.skip_times(s, u),
                ViewConsultation: lambda s, u, r: self.view(s, u, r.consultation_id),
                AcceptConsultation: lambda s, u, r: self.accept(s, u, r.consultation_id),
                DeclineConsultation: lambda s, u, r: self.decline(s, u, r.consultation_id),
                ViewConsultedDraft: lambda s, u, r: self.draft_view(s, u, r.consultation_id),
                OpenChat: lambda s, u, r: self.open_chat(s, u, r.consultation_id),
                CommentMenu: lambda s, u, r: self.comment_menu(s, u, r.consultation_id),
                AskComment: lambda s, u, r: self.ask_comment(
                    s, u, r.consultation_id, r.field_index
                ),
                AskSchedule: lambda s, u, r: self.ask_schedule(s, u, r.consultation_id),
                ConfirmSession: lambda s, u, r: self.confirm_session(s, u, r.session_id),
                RejectSession: lambda s, u, r: self.reject_session(s, u, r.session_id),
                AskClose: lambda s, u, r: self.ask_close(s, u, r.consultation_id),
                AskCancel: lambda s, u, r: self.ask_cancel(s, u, r.consultation_id),
                Rate: lambda s, u, r: self.rate(s, u, r.consultation_id, r.stars),
                SkipRatingComment: lambda s, u, r: self.skip_rating_comment(
                    s, u, r.consultation_id
                ),
                ConsultationHistory: lambda s, u, r: self.history(s, u, r.consultation_id),
                AllConsultations: lambda s, u, r: self.admin_list(s, u, r.page),
                AssignMenu: lambda s, u, r: self.assign_menu(s, u, r.consultation_id),
                AssignMentor: lambda s, u, r: self.assign(s, u, r.consultation_id, r.mentor_id),
            },
            # History and assigning stay at the feature's role: to anyone but an admin they
            # answer "not found", as for any consultation that is not theirs (see `role`).
            roles={
                "antrean": Role.MENTOR,
                "antrian": Role.MENTOR,
                MentorQueue: Role.MENTOR,
                AllConsultations: Role.ADMIN,
            },
            resend_checks={
                CHAT: lambda s, st, message_id: bool(cq.relays_from(s, st.user_id, message_id))
            },
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
