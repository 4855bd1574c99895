"""Ending a consultation: closing with a summary, rating, cancelling."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.consultations.lifecycle import (
    CANCEL,
    CLOSE,
    EXPIRY_KIND,
    RATING,
    RATING_COMMENT_MAX,
    REASON_MAX,
    REASON_MIN,
    REMINDER_KIND,
    SUMMARY_MAX,
    SUMMARY_MIN,
    Lifecycle,
    _not_found,
    _stale,
)
from bot.services.consultations.routes import (
    Rate,
    SkipRatingComment,
)
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    in_rows,
    keyboard,
)
from models import repository as repo
from models.consultations import (
    CLOSED,
    LIVE_STATES,
    Consultation,
)
from models.tables import ConversationState


class Closing(Lifecycle):
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
            Button(data=Rate(c.id, n), label="consult_star", params={"n": n}) for n in range(1, 6)
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
        skip = keyboard([Button(data=SkipRatingComment(cid), label="consult_skip_comment")])
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
