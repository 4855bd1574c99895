"""Mentors: single-use invites, the mentor's own profile, and the admin's management of them.

An admin's `/undang_mentor` (or `klinik mentor invite`) makes an invite whose token travels in a
`t.me/<bot>?start=mentor-<token>` link; the person who opens it becomes a mentor once they
confirm. Using an invite is one conditional UPDATE, so a token works once even if two people
confirm it at the same moment.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from sqlmodel import Session

from bot.services.consultations.routes import (
    AcceptInvite,
    AllConsultations,
    AskCapacity,
    DeactivateMentor,
    DeclineInvite,
    ExpertiseDone,
    ExpertisePage,
    InviteMentor,
    MentorDetail,
    MentorList,
    MentorProfile,
    MentorQueue,
    ReactivateMentor,
    ReassignMenu,
    ReassignTo,
    RerouteAll,
    SetCapacity,
    ToggleExpertise,
    TogglePause,
)
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.formats import load_data_list
from bot.services.language import phrase
from bot.services.replies import Button, Outcome, Reply, in_rows, keyboard, one_per_row
from bot.services.roles import Role
from bot.services.textutil import shorten
from models import consultations as cq
from models import repository as repo
from models.consultations import Mentor, MentorInvite
from models.tables import ConversationState, User

# Who may press what: the mentor's own profile, and the admin's management of mentors (an
# invite is answered by whoever opened it, a registered user).
MENTOR_ROUTES = (
    MentorProfile,
    ExpertisePage,
    ToggleExpertise,
    ExpertiseDone,
    AskCapacity,
    SetCapacity,
    TogglePause,
)
ADMIN_ROUTES = (
    InviteMentor,
    MentorList,
    MentorDetail,
    DeactivateMentor,
    ReactivateMentor,
    ReassignMenu,
    ReassignTo,
    RerouteAll,
)


class ConsultationDuties(Protocol):
    """What a mentor's changes ask of the consultations (the ConsultationService does them);
    a protocol, so this room needs no import of the service that imports it."""

    reminder_kinds: tuple[str, ...]

    def offer_waiting(self, session: Session, mentor_id: int) -> list[Reply]: ...

    def withdraw_offers(
        self, session: Session, mentor_id: int, actor: int | None
    ) -> list[Reply]: ...

    def reassign_all(
        self, session: Session, mentor_id: int, target_id: int | None, actor: int
    ) -> tuple[int, list[Reply]]: ...


INVITE_PREFIX = "mentor-"
INVITE_VALID = timedelta(days=7)
MENTOR_INVITE = "mentor_invite"
CAPACITY_CHOICES = tuple(range(1, 11))
DEFAULT_CAPACITY = 3
EXPERTISE_PAGE = 10


@cache
def _urusan() -> tuple[str, ...]:
    return load_data_list("urusan")


def expertise_options(ctx: ServiceContext) -> tuple[str, ...]:
    """The fields a mentor can cover and an ASN can ask about: the forms of innovation (from
    the default format's `bentuk` section) and the urusan pemerintahan (templates/data)."""
    fmt = ctx.formats.default
    form = fmt.by_role("form")
    bentuk = form.options if form else ()
    return (*bentuk, *_urusan())


def new_invite(session: Session, created_by: int | None, now: datetime) -> MentorInvite:
    invite = MentorInvite(
        token=secrets.token_urlsafe(18),
        created_by=created_by,
        created_at=now,
        expires_at=now + INVITE_VALID,
    )
    session.add(invite)
    session.flush()
    return invite


def active_mentor(session: Session, user_id: int) -> Mentor | None:
    mentor = session.get(Mentor, user_id)
    return mentor if mentor is not None and mentor.active else None


def acting_mentor(session: Session, user_id: int) -> Mentor:
    """The mentor pressing a mentor's button: the Role.MENTOR guard let only an active one in.
    Acting in the bot shows Telegram reaches them again."""
    mentor = active_mentor(session, user_id)
    if mentor is None:  # deactivated since the guard ran: a stale button, nothing changed
        raise KeyError(user_id)
    touch(session, mentor)
    return mentor


def display_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.full_name if user else None) or phrase("unnamed_person")


class MentorService:
    def __init__(self, ctx: ServiceContext, consultations: ConsultationDuties) -> None:
        self.ctx = ctx
        self.consultations = consultations

    def feature(self) -> Feature:
        return Feature(
            name="mentors",
            service=self,
            commands={
                "undang_mentor": lambda s, st, a: self.invite(s, st.user_id),
                "mentor": lambda s, st, a: self.admin_list(s, st.user_id),
            },
            routes={
                AcceptInvite: lambda s, u, r: self.confirm_invite(s, u, True),
                DeclineInvite: lambda s, u, r: self.confirm_invite(s, u, False),
                MentorProfile: lambda s, u, r: self.profile(s, u, edit=True),
                ExpertisePage: lambda s, u, r: self.expertise(s, u, r.page),
                ToggleExpertise: lambda s, u, r: self.toggle(s, u, r.index, r.page),
                ExpertiseDone: lambda s, u, r: self.profile(s, u, edit=True, saved=True),
                AskCapacity: lambda s, u, r: self.ask_capacity(s, u),
                SetCapacity: lambda s, u, r: self.set_capacity(s, u, r.capacity),
                TogglePause: lambda s, u, r: self.toggle_pause(s, u),
                InviteMentor: lambda s, u, r: self.invite(s, u),
                MentorList: lambda s, u, r: self.admin_list(s, u, edit=True),
                MentorDetail: lambda s, u, r: self.admin_detail(s, u, r.mentor_id),
                DeactivateMentor: lambda s, u, r: self.set_active(s, u, r.mentor_id, False),
                ReactivateMentor: lambda s, u, r: self.set_active(s, u, r.mentor_id, True),
                ReassignMenu: lambda s, u, r: self.reassign_menu(s, u, r.mentor_id),
                ReassignTo: lambda s, u, r: self.reassign(s, u, r.mentor_id, r.target_id),
                RerouteAll: lambda s, u, r: self.reassign(s, u, r.mentor_id, None),
            },
            roles={
                **dict.fromkeys(MENTOR_ROUTES, Role.MENTOR),
                **dict.fromkeys(ADMIN_ROUTES, Role.ADMIN),
                "undang_mentor": Role.ADMIN,
                "mentor": Role.ADMIN,
            },
            text_flows={MENTOR_INVITE: self._use_buttons},
            start_payloads={INVITE_PREFIX: self.open_invite},
            role_checks={Role.MENTOR: self.is_active_mentor},
            role_members={Role.MENTOR: self.active_mentor_ids},
        )

    def invite(self, session: Session, user_id: int) -> Outcome:
        invite = new_invite(session, user_id, self.ctx.now())
        context = {"token": invite.token, "expires": invite.expires_at}
        return Outcome().add(Reply("mentor/invite_link", context))

    def open_invite(self, session: Session, state: ConversationState, payload: str) -> Outcome:
        """/start mentor-<token>: check the invite, then ask the person to confirm."""
        token = payload[len(INVITE_PREFIX) :]
        invite = _invite_by_token(session, token)
        now = self.ctx.now()
        # Opened again by the Dialog once the registration it waited for is complete.
        resumed = {"resumed": state.pending_start == payload}
        if invite is None:
            return Outcome().add(Reply("mentor/invite_invalid", resumed))
        if active_mentor(session, state.user_id) is not None:
            return Outcome().add(Reply("mentor/already"))
        if invite.used_at is not None:
            return Outcome().add(Reply("mentor/invite_used", resumed))
        if invite.expires_at <= now:
            context = {"expired": invite.expires_at, **resumed}
            return Outcome().add(Reply("mentor/invite_expired", context))
        if not repo.registered(session.get(User, state.user_id)):
            # Kept in the database: the registration that starts now ends in the mentor step.
            state.pending_start = payload[:120]
            return Outcome().add(Reply("mentor/register_first"))
        repo.set_flow(state, MENTOR_INVITE, data={"invite": invite.id})
        buttons = keyboard(
            [
                Button(data=AcceptInvite(), label="mentor_accept_invite"),
                Button(data=DeclineInvite(), label="mentor_decline_invite"),
            ]
        )
        name = display_name(session, state.user_id)
        return Outcome().add(Reply("mentor/invite_confirm", {"name": name, **resumed}, buttons))

    def is_active_mentor(self, session: Session, user_id: int) -> bool:
        return active_mentor(session, user_id) is not None

    def active_mentor_ids(self, session: Session) -> list[int]:
        return cq.active_mentor_ids(session)

    def confirm_invite(self, session: Session, user_id: int, accepted: bool) -> Outcome:
        state = repo.get_state(session, user_id)
        invite_id = state.data.get("invite") if state.flow == MENTOR_INVITE else None
        invite = session.get(MentorInvite, invite_id) if invite_id else None
        if invite is None:
            return Outcome(notice="stale_button", notice_alert=True)
        repo.clear_flow(state)
        if not accepted:
            return Outcome().add(Reply("mentor/invite_declined", edit=True))
        now = self.ctx.now()
        if not cq.use_invite(session, invite.id or 0, user_id, now):
            session.refresh(invite)
            template = "mentor/invite_used" if invite.used_at else "mentor/invite_expired"
            return Outcome().add(Reply(template, {"expired": invite.expires_at}, edit=True))
        mentor = session.get(Mentor, user_id)
        if mentor is None:
            mentor = Mentor(user_id=user_id, capacity=DEFAULT_CAPACITY, joined_at=now)
        mentor.active, mentor.paused, mentor.reachable = True, False, True
        mentor.invited_by = invite.created_by
        mentor.updated_at = now
        session.add(mentor)
        name = display_name(session, user_id)
        outcome = Outcome(notice="mentor_joined", menus=(user_id,)).add(
            Reply("mentor/welcome", {"name": name}, edit=True)
        )
        outcome.add(self._expertise_reply(mentor, 0, edit=False))
        if invite.created_by is not None and invite.created_by != user_id:
            outcome.add(Reply("mentor/joined_admin", {"name": name}, to=invite.created_by))
        return self._with_waiting_requests(session, outcome, user_id)

    def _with_waiting_requests(self, session: Session, outcome: Outcome, mentor_id: int) -> Outcome:
        """A mentor who became available is offered the requests still waiting for one."""
        outcome.replies.extend(self.consultations.offer_waiting(session, mentor_id))
        return outcome

    def _use_buttons(self, session: Session, state: ConversationState, text: str) -> Outcome:
        return Outcome().add(Reply("mentor/use_buttons"))

    # ---- the mentor's own profile ----------------------------------------------------------------

    def profile(
        self, session: Session, user_id: int, edit: bool = False, saved: bool = False
    ) -> Outcome:
        mentor = acting_mentor(session, user_id)
        load = cq.open_counts(session, [user_id])[user_id]
        context = {"mentor": mentor, "load": load, "saved": saved}
        buttons = (*profile_buttons(mentor), (Button(data=MentorQueue(), label="consult_queue"),))
        return Outcome(notice="saved" if saved else None).add(
            Reply("mentor/profile", context, buttons, edit=edit)
        )

    def expertise(self, session: Session, user_id: int, page: int) -> Outcome:
        mentor = acting_mentor(session, user_id)
        return Outcome().add(self._expertise_reply(mentor, page, edit=True))

    def toggle(self, session: Session, user_id: int, index: int, page: int) -> Outcome:
        mentor = acting_mentor(session, user_id)
        options = expertise_options(self.ctx)
        if not 0 <= index < len(options):
            return Outcome(notice="stale_button", notice_alert=True)
        chosen = options[index]
        current = list(mentor.expertise)
        # A new list, not an in-place change: JSON columns only notice reassignment.
        mentor.expertise = (
            [e for e in current if e != chosen]
            if chosen in current
            else [
                *current,
                chosen,
            ]
        )
        mentor.updated_at = self.ctx.now()
        session.add(mentor)
        return Outcome().add(self._expertise_reply(mentor, page, edit=True))

    def _expertise_reply(self, mentor: Mentor, page: int, edit: bool) -> Reply:
        options = expertise_options(self.ctx)
        pages = max(1, -(-len(options) // EXPERTISE_PAGE))
        page = min(max(page, 0), pages - 1)
        start = page * EXPERTISE_PAGE
        chosen = set(mentor.expertise)
        toggles = [
            Button(
                data=ToggleExpertise(i, page),
                label="expertise_on" if option in chosen else "expertise_off",
                params={"name": shorten(option, 50)},
            )
            for i, option in enumerate(options[start : start + EXPERTISE_PAGE], start=start)
        ]
        nav = []
        if page > 0:
            nav.append(Button(data=ExpertisePage(page - 1), label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(data=ExpertisePage(page + 1), label="next_page"))
        rows = [
            *one_per_row(toggles),
            tuple(nav),
            (Button(data=ExpertiseDone(), label="expertise_done"),),
        ]
        context = {
            "chosen": [o for o in options if o in chosen],
            "page": page + 1,
            "pages": pages,
        }
        return Reply("mentor/expertise", context, keyboard(*rows), edit=edit)

    def ask_capacity(self, session: Session, user_id: int) -> Outcome:
        mentor = acting_mentor(session, user_id)
        buttons = [
            Button(data=SetCapacity(n), text=f"✅ {n}" if n == mentor.capacity else str(n))
            for n in CAPACITY_CHOICES
        ]
        rows = [*in_rows(buttons, 5), (Button(data=MentorProfile(), label="back_to_profile"),)]
        context = {"capacity": mentor.capacity}
        return Outcome().add(Reply("mentor/ask_capacity", context, keyboard(*rows), edit=True))

    def set_capacity(self, session: Session, user_id: int, capacity: int) -> Outcome:
        mentor = acting_mentor(session, user_id)
        if capacity not in CAPACITY_CHOICES:
            return Outcome(notice="stale_button", notice_alert=True)
        mentor.capacity = capacity
        mentor.updated_at = self.ctx.now()
        session.add(mentor)
        outcome = self.profile(session, user_id, edit=True, saved=True)
        return self._with_waiting_requests(session, outcome, user_id)

    def toggle_pause(self, session: Session, user_id: int) -> Outcome:
        mentor = acting_mentor(session, user_id)
        mentor.paused = not mentor.paused
        mentor.updated_at = self.ctx.now()
        session.add(mentor)
        outcome = self.profile(session, user_id, edit=True)
        outcome.notice = "mentor_paused" if mentor.paused else "mentor_resumed"
        return self._with_waiting_requests(session, outcome, user_id)

    # ---- the admin's view ------------------------------------------------------------------------

    def admin_list(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        mentors = cq.all_mentors(session)
        loads = cq.open_counts(session, [m.user_id for m in mentors])
        rows = [
            {
                "mentor": m,
                "name": display_name(session, m.user_id),
                "load": loads[m.user_id],
                "reachable": m.reachable and _user_reachable(session, m.user_id),
            }
            for m in mentors
        ]
        buttons = [
            Button(data=MentorDetail(r["mentor"].user_id), text=shorten(r["name"], 40))
            for r in rows
        ]
        extra = [
            Button(data=InviteMentor(), label="mentor_invite"),
            Button(data=AllConsultations(0), label="consult_all"),
        ]
        keys = keyboard(*one_per_row(buttons), extra)
        return Outcome().add(Reply("mentor/admin_list", {"rows": rows}, keys, edit=edit))

    def admin_detail(
        self, session: Session, user_id: int, mentor_id: int, notice_template: str | None = None
    ) -> Outcome:
        mentor = session.get(Mentor, mentor_id)
        if mentor is None:
            return _mentor_not_found()
        load = cq.open_counts(session, [mentor_id])[mentor_id]
        context = {
            "mentor": mentor,
            "name": display_name(session, mentor_id),
            "load": load,
            "reachable": mentor.reachable and _user_reachable(session, mentor_id),
            "notice_template": notice_template,
        }
        toggle = (
            Button(data=DeactivateMentor(mentor_id), label="mentor_deactivate")
            if mentor.active
            else Button(data=ReactivateMentor(mentor_id), label="mentor_reactivate")
        )
        rows = [[toggle]]
        if load:
            rows.append([Button(data=ReassignMenu(mentor_id), label="mentor_reassign")])
        rows.append([Button(data=MentorList(), label="mentor_list")])
        return Outcome().add(Reply("mentor/admin_detail", context, keyboard(*rows), edit=True))

    def set_active(self, session: Session, user_id: int, mentor_id: int, active: bool) -> Outcome:
        mentor = session.get(Mentor, mentor_id)
        if mentor is None:
            return _mentor_not_found()
        if mentor.active == active:
            return self.admin_detail(session, user_id, mentor_id)
        mentor.active = active
        mentor.updated_at = self.ctx.now()
        session.add(mentor)
        outcome = Outcome(notice="saved", menus=(mentor_id,))
        if not active:
            # Offers still waiting on them go to others; assigned work waits for reassignment.
            for reply in self.consultations.withdraw_offers(session, mentor_id, user_id):
                outcome.add(reply)
        template = "mentor/deactivated_notice" if not active else "mentor/reactivated_notice"
        outcome.add(Reply(template, {}, to=mentor_id))
        notice = "mentor/deactivated" if not active else "mentor/reactivated"
        detail = self.admin_detail(session, user_id, mentor_id, notice_template=notice)
        outcome.replies[:0] = detail.replies
        return self._with_waiting_requests(session, outcome, mentor_id)

    def reassign_menu(self, session: Session, user_id: int, mentor_id: int) -> Outcome:
        if session.get(Mentor, mentor_id) is None:
            return _mentor_not_found()
        others = [m for m in cq.available_mentors(session) if m.user_id != mentor_id]
        loads = cq.open_counts(session, [m.user_id for m in others])
        buttons = [
            Button(
                data=ReassignTo(mentor_id, m.user_id),
                label="mentor_reassign_to",
                params={
                    "name": shorten(display_name(session, m.user_id), 30),
                    "load": loads[m.user_id],
                    "capacity": m.capacity,
                },
            )
            for m in others
        ]
        rows = [
            *one_per_row(buttons),
            (Button(data=RerouteAll(mentor_id), label="mentor_reassign_reroute"),),
            (Button(data=MentorDetail(mentor_id), label="mentor_back"),),
        ]
        context = {"name": display_name(session, mentor_id), "others": len(others)}
        return Outcome().add(Reply("mentor/reassign_menu", context, keyboard(*rows), edit=True))

    def reassign(
        self, session: Session, user_id: int, mentor_id: int, target_id: int | None
    ) -> Outcome:
        if session.get(Mentor, mentor_id) is None:
            return _mentor_not_found()
        if target_id is not None and (
            target_id == mentor_id or active_mentor(session, target_id) is None
        ):
            return _mentor_not_found()
        moved, replies = self.consultations.reassign_all(session, mentor_id, target_id, user_id)
        context = {
            "count": moved,
            "name": display_name(session, mentor_id),
            "target": display_name(session, target_id) if target_id else None,
        }
        outcome = Outcome(notice="saved", rebuild=self.consultations.reminder_kinds)
        outcome.add(Reply("mentor/reassigned", context, edit=True))
        for reply in replies:
            outcome.add(reply)
        return outcome


def profile_buttons(mentor: Mentor) -> tuple[tuple[Button, ...], ...]:
    return keyboard(
        [
            Button(data=ExpertisePage(0), label="mentor_expertise"),
            Button(data=AskCapacity(), label="mentor_capacity"),
        ],
        [Button(data=TogglePause(), label="mentor_resume" if mentor.paused else "mentor_pause")],
    )


def _invite_by_token(session: Session, token: str) -> MentorInvite | None:
    if not token or len(token) > 64:
        return None
    return cq.invite_by_token(session, token)


def touch(session: Session, mentor: Mentor) -> None:
    """A mentor acting in the bot has not blocked it (any more): they can be reached again."""
    if not mentor.reachable:
        mentor.reachable = True
        session.add(mentor)
    user = session.get(User, mentor.user_id)
    if user is not None and not user.reachable:
        user.reachable = True
        session.add(user)


def _user_reachable(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return bool(user and user.reachable)


def _mentor_not_found() -> Outcome:
    return Outcome(notice="not_found", notice_alert=True).add(Reply("mentor/not_found"))
