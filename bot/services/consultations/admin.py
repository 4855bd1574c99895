"""What admins see and do: the list of all consultations, assigning and reassigning, the history."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.consultations.lifecycle import (
    ADMIN_PAGE,
    EXPIRY_KIND,
    Lifecycle,
    _names_by_role,
    _not_found,
)
from bot.services.consultations.mentors import (
    active_mentor,
    display_name,
)
from bot.services.consultations.routes import (
    AllConsultations,
    AssignMentor,
    MentorList,
    OpenChat,
    ViewConsultation,
)
from bot.services.replies import (
    Button,
    Chunk,
    LongReply,
    Outcome,
    Reply,
    keyboard,
    one_per_row,
)
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACTIVE_STATES,
    OPEN,
    Consultation,
)


class AdminViews(Lifecycle):
    def admin_list(self, session: Session, user_id: int, page: int) -> Outcome:
        everything = cq.consultations_newest_first(session)
        pages = max(1, -(-len(everything) // ADMIN_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = everything[page * ADMIN_PAGE : (page + 1) * ADMIN_PAGE]
        nav = []
        if page > 0:
            nav.append(Button(data=AllConsultations(page - 1), label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(data=AllConsultations(page + 1), label="next_page"))
        rows = [*one_per_row([self._item_button(c) for c in shown]), tuple(nav)]
        rows.append((Button(data=MentorList(), label="mentor_list"),))
        context = {
            "items": [self._item(session, c) for c in shown],
            "page": page + 1,
            "pages": pages,
            "total": len(everything),
        }
        return Outcome().add(Reply("consult/admin_list", context, keyboard(*rows), edit=True))

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
                data=AssignMentor(cid, m.user_id),
                label="mentor_reassign_to",
                params={
                    "name": display_name(session, m.user_id)[:30],
                    "load": loads[m.user_id],
                    "capacity": m.capacity,
                },
            )
            for m in mentors
        ]
        rows = [*one_per_row(choices), (Button(data=ViewConsultation(cid), label="consult_back"),)]
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
        chat = keyboard([Button(data=OpenChat(cid), label="consult_write")])
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
        buttons = keyboard([Button(data=ViewConsultation(cid), label="consult_back")])
        return Outcome().add(LongReply(tuple(chunks), buttons))
