"""One consultation as each person sees it: who they are to it, its card, its buttons, the draft
behind it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.answers import display_value
from bot.services.consultations.lifecycle import (
    Lifecycle,
    _not_found,
    _reads_draft,
)
from bot.services.consultations.mentors import (
    active_mentor,
    display_name,
    expertise_options,
)
from bot.services.consultations.routes import (
    AcceptConsultation,
    AllConsultations,
    AskCancel,
    AskClose,
    AskSchedule,
    AssignMenu,
    CommentMenu,
    ConfirmSession,
    ConsultationHistory,
    DeclineConsultation,
    MentorQueue,
    MyConsultations,
    OpenChat,
    Rate,
    RejectSession,
    ViewConsultation,
    ViewConsultedDraft,
)
from bot.services.drafting import DraftView
from bot.services.language import phrase
from bot.services.readiness import readiness_of_draft
from bot.services.replies import (
    Button,
    Chunk,
    Keyboard,
    LongReply,
    Outcome,
    Reply,
    keyboard,
)
from bot.services.textutil import shorten
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACTIVE_STATES,
    CLOSED,
    CONFIRMED,
    LIVE_STATES,
    OFFERED,
    OPEN,
    PROPOSED,
    Consultation,
    ConsultationEvent,
    ConsultationEventPerson,
)
from models.tables import Draft, Opd, User


class Views(Lifecycle):
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
        chunks = view.preview_chunks(
            Chunk("consult/draft_view_head", {**view.as_context(), "c": c})
        )
        rows: list[list[Button]] = []
        if role == "mentor" and c.status in ACTIVE_STATES:
            rows.append([Button(data=CommentMenu(cid), label="consult_comment")])
        if role == "offered":
            rows.append(
                [
                    Button(data=AcceptConsultation(cid), label="consult_accept"),
                    Button(data=DeclineConsultation(cid), label="consult_decline"),
                ]
            )
        else:
            rows.append([Button(data=ViewConsultation(cid), label="consult_back")])
        return Outcome(notice="preview_sent").add(LongReply(chunks, keyboard(*rows)))

    def context_of(self, session: Session, c: Consultation) -> dict[str, Any]:
        return self._context(session, c)

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
                rows.append([Button(data=OpenChat(cid), label="consult_write")])
                proposal = next(
                    (s for s in cq.sessions_of(session, cid or 0) if s.status == PROPOSED), None
                )
                if proposal is not None:
                    rows.append(
                        [
                            Button(data=ConfirmSession(proposal.id), label="consult_session_yes"),
                            Button(data=RejectSession(proposal.id), label="consult_session_no"),
                        ]
                    )
            if c.status == CLOSED and c.rating is None:
                rows.append(
                    [
                        Button(data=Rate(cid, n), label="consult_star", params={"n": n})
                        for n in range(1, 6)
                    ]
                )
            if c.status in LIVE_STATES:
                rows.append([Button(data=AskCancel(cid), label="consult_cancel")])
            rows.append([Button(data=MyConsultations(), label="consult_mine")])
        elif role == "mentor":
            if active:
                rows.append([Button(data=OpenChat(cid), label="consult_write")])
                if c.draft_id:
                    rows.append(
                        [
                            Button(data=ViewConsultedDraft(cid), label="consult_view_draft"),
                            Button(data=CommentMenu(cid), label="consult_comment"),
                        ]
                    )
                rows.append([Button(data=AskSchedule(cid), label="consult_schedule")])
                rows.append(
                    [
                        Button(data=AskClose(cid), label="consult_close"),
                        Button(data=AskCancel(cid), label="consult_cancel"),
                    ]
                )
            rows.append([Button(data=MentorQueue(), label="consult_queue")])
        if user_id is not None and self.ctx.is_admin(user_id):
            if role == "admin" and c.status == OPEN:
                rows.append([Button(data=AssignMenu(cid), label="consult_assign")])
            rows.append([Button(data=ConsultationHistory(cid), label="consult_history")])
            if role == "admin":
                rows.append([Button(data=AllConsultations(0), label="consult_all")])
        return keyboard(*rows)

    def _item(self, session: Session, c: Consultation) -> dict[str, Any]:
        return {
            "c": c,
            "asn": display_name(session, c.asn_id),
            "mentor": display_name(session, c.mentor_id) if c.mentor_id else None,
        }

    def _item_button(self, c: Consultation) -> Button:
        topic = c.topic or phrase("general_topic")
        return Button(
            data=ViewConsultation(c.id),
            label=f"consult_item_{c.status}",
            params={"id": c.id, "topic": shorten(topic, 35)},
        )

    def _name_people(
        self, session: Session, event: ConsultationEvent, people: list[tuple[str, int]]
    ) -> None:
        """Who an event is about, by reference: names are looked up when the history is shown."""
        session.flush()
        for role, user_id in people:
            session.add(ConsultationEventPerson(event_id=event.id or 0, role=role, user_id=user_id))

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

    def _mentor_draft(
        self, session: Session, user_id: int, cid: int
    ) -> tuple[Consultation | None, DraftView | None]:
        c = self._assigned(session, user_id, cid)
        if c is None or not c.draft_id:
            return None, None
        return c, self._draft_view(session, c.draft_id)
