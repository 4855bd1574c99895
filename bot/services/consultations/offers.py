"""Offers to mentors: the queue, accepting and declining, re-announcing and expiring, requests
waiting for a free mentor.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.services.consultations.lifecycle import (
    ENDED,
    EXPIRY_KIND,
    MAX_OFFERS,
    OUTBOX_KINDS,
    REMINDER_KIND,
    Lifecycle,
    _mine_row,
    _not_found,
)
from bot.services.consultations.mentors import (
    acting_mentor,
    active_mentor,
    profile_buttons,
    touch,
)
from bot.services.consultations.routes import (
    AcceptConsultation,
    DeclineConsultation,
    OpenChat,
    ViewConsultedDraft,
)
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    keyboard,
    one_per_row,
)
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACCEPTED,
    ACTIVE_STATES,
    DECLINED,
    LIVE_STATES,
    OFFERED,
    OPEN,
    TAKEN,
    Consultation,
    ConsultationNotice,
    ConsultationOffer,
)


class Offers(Lifecycle):
    def queue(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """/antrean (alias /antrian): a mentor's offered and assigned consultations."""
        mentor = acting_mentor(session, user_id)
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
                Button(data=AcceptConsultation(c.id), label="consult_accept"),
                Button(data=DeclineConsultation(c.id), label="consult_decline"),
            ]
        ]
        if c.draft_id:
            rows.append([Button(data=ViewConsultedDraft(c.id), label="consult_view_draft")])
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
        chat = keyboard([Button(data=OpenChat(cid), label="consult_write")])
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
