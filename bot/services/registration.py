"""Registration and profile: consent first (UU PDP 27/2022), then name, then office (OPD)."""

from __future__ import annotations

from typing import Literal

from rapidfuzz import fuzz, process
from sqlmodel import Session

from bot.services.context import ServiceContext
from bot.services.drafting.routes import ContinueDraft, ListDrafts, NewDraft
from bot.services.feature import Feature
from bot.services.nip import check_nip, format_nip
from bot.services.replies import Button, Outcome, Reply, keyboard, one_per_row
from bot.services.roles import Role
from bot.services.routes import Route
from models import repository as repo
from models.tables import ConversationState, Opd, User

REGISTER = "register"
PROFILE = "profile"
NAME_MIN, NAME_MAX = 3, 100
OPD_MATCHES = 8


# ---- routes: the buttons of the registration and the profile -----------------------------------


class AnswerConsent(Route, prefix="r"):
    answer: Literal["ok", "no"]


class ChooseOpd(Route, prefix="r:o"):
    opd_id: int


class SkipNip(Route, prefix="r:s"):
    pass


class ChangeProfile(Route, prefix="p"):
    field: Literal["n", "o", "i"]  # name, office, NIP


class RemoveNip(Route, prefix="p:x"):
    pass


class RegistrationService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="registration",
            service=self,
            commands={
                "start": lambda s, st, a: self.start(s, st.user_id),
                "profil": lambda s, st, a: self.profile(s, st.user_id),
            },
            routes={
                AnswerConsent: lambda s, u, r: self.consent(s, u, r.answer == "ok"),
                ChooseOpd: lambda s, u, r: self.choose_opd(s, u, r.opd_id),
                SkipNip: lambda s, u, r: self.skip_nip(s, u),
                ChangeProfile: lambda s, u, r: self.change(s, u, r.field),
                RemoveNip: lambda s, u, r: self.remove_nip(s, u),
            },
            text_flows={REGISTER: self.on_text, PROFILE: self.on_text},
            cancel_flows={REGISTER: self._pause},
            # The registration itself works before it is complete; the profile after.
            roles={
                "start": Role.ANYONE,
                AnswerConsent: Role.ANYONE,
                ChooseOpd: Role.ANYONE,
                SkipNip: Role.ANYONE,
            },
        )

    def _pause(self, session: Session, state: ConversationState, args: str = "") -> Outcome:
        at_nip = state.step == "nip"
        repo.clear_flow(state)
        user = session.get(User, state.user_id)
        if at_nip and user is not None:  # registered already: the NIP is optional
            return Outcome().add(Reply("register/nip_skipped")).add(self.main_menu(session, user))
        return Outcome().add(Reply("common/cancelled", {"flow": REGISTER}))

    def start(self, session: Session, user_id: int) -> Outcome:
        """/start: continue registration where it stopped, or show the main menu."""
        user = session.get(User, user_id)
        if user is None:
            # Only the Telegram id is stored before consent.
            user = User(id=user_id)
            session.add(user)
        state = repo.get_state(session, user_id)
        if user.consent_at is None:
            repo.set_flow(state, REGISTER, step="consent")
            buttons = keyboard(
                [
                    Button(AnswerConsent("ok"), label="consent_yes"),
                    Button(AnswerConsent("no"), label="consent_no"),
                ]
            )
            return Outcome().add(Reply("register/consent", {}, buttons))
        if not user.full_name:
            repo.set_flow(state, REGISTER, step="name")
            return Outcome().add(Reply("register/ask_name"))
        if not user.opd_id:
            repo.set_flow(state, REGISTER, step="opd")
            return Outcome().add(Reply("register/ask_opd", {"name": user.full_name}))
        repo.clear_flow(state)
        return Outcome().add(self.main_menu(session, user))

    def main_menu(self, session: Session, user: User) -> Reply:
        drafts = repo.drafts_of(session, user.id)
        rows = [[Button(NewDraft(), label="new_draft"), Button(ListDrafts(), label="my_drafts")]]
        if drafts:
            rows.insert(0, [Button(ContinueDraft(drafts[0].id), label="continue_last")])
        opd = session.get(Opd, user.opd_id) if user.opd_id else None
        context = {
            "name": user.full_name,
            "opd": opd.name if opd else "",
            "drafts": len(drafts),
            "is_admin": self.ctx.is_admin(user.id),
        }
        return Reply("menu/main", context, keyboard(*rows))

    def consent(self, session: Session, user_id: int, accepted: bool) -> Outcome:
        state = repo.get_state(session, user_id)
        user = session.get(User, user_id)
        if user is None or state.flow != REGISTER or state.step != "consent":
            return Outcome(notice="stale_button", notice_alert=True)
        if not accepted:
            repo.clear_flow(state)
            state.pending_start = None  # nothing kept without consent, not even a link
            session.delete(user)
            return Outcome().add(Reply("register/consent_declined", edit=True))
        user.consent_at = self.ctx.now()
        session.add(user)
        repo.set_flow(state, REGISTER, step="name")
        return (
            Outcome(notice="consent_recorded")
            .add(Reply("register/consent_given", edit=True))
            .add(Reply("register/ask_name"))
        )

    def on_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if state.step == "name":
            return self._take_name(session, state, text)
        if state.step == "opd":
            return self._search_opd(session, text)
        if state.step == "nip":
            return self._take_nip(session, state, text)
        return Outcome().add(Reply("register/use_buttons"))

    def profile(self, session: Session, user_id: int) -> Outcome:
        user = session.get(User, user_id)
        repo.clear_flow(repo.get_state(session, user_id))
        opd = session.get(Opd, user.opd_id) if user and user.opd_id else None
        context = {
            "user": user,
            "opd": opd.name if opd else "",
            "registered": user.registered_at.astimezone(self.ctx.tz)
            if user and user.registered_at
            else None,
            "roles": ["Admin"] if self.ctx.is_admin(user_id) else [],
        }
        context["nip"] = format_nip(user.nip) if user and user.nip else ""
        buttons = keyboard(
            [
                Button(ChangeProfile("n"), label="change_name"),
                Button(ChangeProfile("o"), label="change_opd"),
            ],
            [Button(ChangeProfile("i"), label="change_nip")],
        )
        return Outcome().add(Reply("register/profile", context, buttons))

    def change(self, session: Session, user_id: int, what: str) -> Outcome:
        state = repo.get_state(session, user_id)
        if what == "n":
            repo.set_flow(state, PROFILE, step="name")
            return Outcome().add(Reply("register/ask_name", {"changing": True}))
        if what == "i":
            user = session.get(User, user_id)
            if user is None or not repo.registered(user):
                return Outcome(notice="stale_button", notice_alert=True)
            repo.set_flow(state, PROFILE, step="nip")
            remove = [[Button(RemoveNip(), label="remove_nip")]] if user.nip else []
            return Outcome().add(Reply("register/ask_nip", {"changing": True}, keyboard(*remove)))
        repo.set_flow(state, PROFILE, step="opd")
        return Outcome().add(Reply("register/ask_opd", {"changing": True}))

    def choose_opd(self, session: Session, user_id: int, opd_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        user = session.get(User, user_id)
        opd = session.get(Opd, opd_id)
        if user is None or state.flow not in (REGISTER, PROFILE) or state.step != "opd":
            return Outcome(notice="stale_button", notice_alert=True)
        if opd is None or not opd.active:
            return Outcome(notice="opd_not_found", notice_alert=True)
        user.opd_id = opd.id
        changing = state.flow == PROFILE
        if user.registered_at is None:
            user.registered_at = self.ctx.now()
        session.add(user)
        repo.clear_flow(state)
        outcome = Outcome(notice="saved").add(
            Reply("register/opd_chosen", {"opd": opd.name}, edit=True)
        )
        if changing:
            return outcome.add(Reply("register/profile_updated"))
        # One last, optional step: the NIP printed on the proposal's approval page.
        repo.set_flow(state, REGISTER, step="nip")
        skip = keyboard([Button(SkipNip(), label="skip_nip")])
        return outcome.add(Reply("register/welcome", {"name": user.full_name})).add(
            Reply("register/ask_nip", {}, skip)
        )

    def skip_nip(self, session: Session, user_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        user = session.get(User, user_id)
        if user is None or state.flow != REGISTER or state.step != "nip":
            return Outcome(notice="stale_button", notice_alert=True)
        repo.clear_flow(state)
        return (
            Outcome()
            .add(Reply("register/nip_skipped", edit=True))
            .add(self.main_menu(session, user))
        )

    def remove_nip(self, session: Session, user_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        user = session.get(User, user_id)
        if user is None or state.flow != PROFILE or state.step != "nip":
            return Outcome(notice="stale_button", notice_alert=True)
        user.nip = None
        session.add(user)
        repo.clear_flow(state)
        return Outcome(notice="saved").add(Reply("register/nip_removed", edit=True))

    def _take_nip(self, session: Session, state: ConversationState, text: str) -> Outcome:
        checked = check_nip(text)
        registering = state.flow == REGISTER
        if checked.nip is None:
            context = {"problem": checked.problem, "digits": checked.digits}
            context["registering"] = registering
            skip = keyboard([Button(SkipNip(), label="skip_nip")]) if registering else ()
            return Outcome().add(Reply("register/nip_invalid", context, skip))
        user = session.get(User, state.user_id)
        if user is None:
            repo.clear_flow(state)
            return Outcome().add(Reply("register/start_again"))
        user.nip = checked.nip
        session.add(user)
        repo.clear_flow(state)
        outcome = Outcome().add(Reply("register/nip_saved", {"nip": format_nip(checked.nip)}))
        if registering:
            return outcome.add(self.main_menu(session, user))
        return outcome.add(Reply("register/profile_updated"))

    def _take_name(self, session: Session, state: ConversationState, text: str) -> Outcome:
        name = " ".join(text.split())
        if not NAME_MIN <= len(name) <= NAME_MAX or not any(c.isalpha() for c in name):
            return Outcome().add(
                Reply("register/name_invalid", {"minimum": NAME_MIN, "maximum": NAME_MAX})
            )
        user = session.get(User, state.user_id)
        if user is None:
            repo.clear_flow(state)
            return Outcome().add(Reply("register/start_again"))
        user.full_name = name
        session.add(user)
        if state.flow == PROFILE:
            repo.clear_flow(state)
            return Outcome().add(Reply("register/profile_updated"))
        if user.opd_id:
            repo.clear_flow(state)
            return Outcome().add(self.main_menu(session, user))
        repo.set_flow(state, REGISTER, step="opd")
        return Outcome().add(Reply("register/ask_opd", {"name": name}))

    def _search_opd(self, session: Session, text: str) -> Outcome:
        matches = search_opds(repo.active_opds(session), text)
        if not matches:
            return Outcome().add(Reply("register/opd_not_found", {"text": text.strip()[:100]}))
        buttons = [Button(ChooseOpd(opd.id), text=opd.name) for opd in matches]
        return Outcome().add(
            Reply("register/opd_matches", {"count": len(matches)}, one_per_row(buttons))
        )


def search_opds(opds: list[Opd], text: str, limit: int = OPD_MATCHES) -> list[Opd]:
    """OPD whose name contains what was typed, else the closest names by fuzzy match."""
    typed = " ".join(text.split()).casefold()
    if not typed:
        return []
    words = typed.split()
    containing = [o for o in opds if all(w in o.name.casefold() for w in words)]
    if containing:
        return containing[:limit]
    by_name = {o.name: o for o in opds}
    scored = process.extract(
        typed, list(by_name), scorer=fuzz.WRatio, processor=str.casefold, limit=limit
    )
    return [by_name[name] for name, score, _ in scored if score >= 70]
