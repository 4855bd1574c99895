"""Scheduling a session: the mentor proposes a time, the ASN confirms or asks for another."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.services.consultations.lifecycle import (
    REMINDER_KIND,
    RETIME,
    SCHEDULE,
    TIMES_MAX,
    Lifecycle,
    _not_found,
    _stale,
)
from bot.services.consultations.routes import (
    AskSchedule,
    ConfirmSession,
    RejectSession,
)
from bot.services.language import SessionTimeError, format_datetime_id, parse_session_time
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    keyboard,
)
from bot.services.textutil import MONTHS_ID
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACTIVE_STATES,
    CONFIRMED,
    PROPOSED,
    REJECTED,
    SUPERSEDED,
    Consultation,
    ConsultationSession,
)
from models.tables import ConversationState


class Sessions(Lifecycle):
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
            session,
            c,
            "session_proposed",
            state.user_id,
            detail=format_datetime_id(starts_at, self.ctx.tz),
        )
        repo.clear_flow(state)
        context = {**self._context(session, c), "proposal": proposal}
        answer = keyboard(
            [
                Button(data=ConfirmSession(proposal.id), label="consult_session_yes"),
                Button(data=RejectSession(proposal.id), label="consult_session_no"),
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
            session,
            c,
            "session_confirmed",
            user_id,
            detail=format_datetime_id(proposal.starts_at, self.ctx.tz),
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
            session,
            c,
            "session_rejected",
            user_id,
            detail=format_datetime_id(proposal.starts_at, self.ctx.tz),
        )
        repo.set_flow(repo.get_state(session, user_id), RETIME, data={"consultation": c.id})
        context = {**self._context(session, c), "proposal": proposal}
        propose = keyboard([Button(data=AskSchedule(c.id), label="consult_schedule")])
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
        propose = keyboard([Button(data=AskSchedule(c.id), label="consult_schedule")])
        return (
            Outcome()
            .add(Reply("consult/retime_sent", context))
            .add(Reply("consult/retime_note", context, propose, to=c.mentor_id))
        )

    def _asn_session(
        self, session: Session, user_id: int, sid: int
    ) -> tuple[ConsultationSession | None, Consultation | None]:
        proposal = session.get(ConsultationSession, sid)
        c = session.get(Consultation, proposal.consultation_id) if proposal else None
        if c is None or c.asn_id != user_id:
            return None, None
        return proposal, c
