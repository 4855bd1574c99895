"""The admin's management of the OPD list (/opd)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.language import phrase
from bot.services.nip import check_nip, format_nip
from bot.services.registration import search_opds
from bot.services.replies import Button, Chunk, LongReply, Outcome, Reply, keyboard, one_per_row
from bot.services.roles import Role
from bot.services.routes import Route
from models import repository as repo
from models.tables import ConversationState, Opd

OPD_ADMIN = "opd_admin"
NAME_MIN, NAME_MAX = 3, 200
HEAD_MIN = 3


# ---- routes: the buttons of /opd ----------------------------------------------------------------


class AskNewOpd(Route, prefix="o:a"):
    pass


class AskOpdToDeactivate(Route, prefix="o:d"):
    pass


class ListOpds(Route, prefix="o:l"):
    pass


class DeactivateOpd(Route, prefix="o:x"):
    opd_id: int


class SearchOpdForHead(Route, prefix="o:h"):
    pass


class ChooseOpdForHead(Route, prefix="o:k"):
    opd_id: int


class RemoveOpdHead(Route, prefix="o:r"):
    opd_id: int


class OpdAdminService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="opd_admin",
            service=self,
            role=Role.ADMIN,
            commands={"opd": lambda s, st, a: self.menu(s, st.user_id)},
            routes={
                AskNewOpd: lambda s, u, r: self.ask(s, u, "add"),
                AskOpdToDeactivate: lambda s, u, r: self.ask(s, u, "deactivate"),
                ListOpds: lambda s, u, r: self.list_all(s),
                DeactivateOpd: lambda s, u, r: self.deactivate(s, u, r.opd_id),
                SearchOpdForHead: lambda s, u, r: self.ask(s, u, "head_search"),
                ChooseOpdForHead: lambda s, u, r: self.choose_head(s, u, r.opd_id),
                RemoveOpdHead: lambda s, u, r: self.remove_head(s, u, r.opd_id),
            },
            text_flows={OPD_ADMIN: self.on_text},
        )

    def menu(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        active = repo.active_opds(session)
        buttons = keyboard(
            [
                Button(AskNewOpd(), label="opd_add"),
                Button(AskOpdToDeactivate(), label="opd_deactivate"),
            ],
            [Button(ListOpds(), label="opd_list"), Button(SearchOpdForHead(), label="opd_head")],
        )
        return Outcome().add(Reply("opd/menu", {"count": len(active)}, buttons, edit=edit))

    def ask(self, session: Session, user_id: int, step: str) -> Outcome:
        repo.set_flow(repo.get_state(session, user_id), OPD_ADMIN, step=step)
        return Outcome().add(Reply(f"opd/ask_{step}"))

    def list_all(self, session: Session) -> Outcome:
        names = "\n".join(f"• {o.name}" for o in repo.active_opds(session))
        return Outcome().add(LongReply((Chunk("opd/list_head", {}, names),)))

    def on_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if state.step == "add":
            return self._add(session, state, text)
        if state.step == "head":
            return self._take_head(session, state, text)
        matches = search_opds(repo.active_opds(session), text)
        if not matches:
            return Outcome().add(Reply("register/opd_not_found", {"text": text.strip()[:100]}))
        if state.step == "head_search":
            buttons = [Button(ChooseOpdForHead(o.id), text=o.name) for o in matches]
            return Outcome().add(Reply("opd/choose_head", {}, one_per_row(buttons)))
        buttons = [Button(DeactivateOpd(o.id), text=o.name) for o in matches]
        return Outcome().add(Reply("opd/choose_deactivate", {}, one_per_row(buttons)))

    # ---- the head (kepala) of an office, for the approval page of its proposals ----------------

    def choose_head(self, session: Session, user_id: int, opd_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        opd = session.get(Opd, opd_id)
        if state.flow != OPD_ADMIN or state.step != "head_search":
            return Outcome(notice="stale_button", notice_alert=True)
        if opd is None or not opd.active:
            return Outcome(notice="opd_not_found", notice_alert=True)
        repo.set_flow(state, OPD_ADMIN, step="head", data={"opd_id": opd.id})
        remove = [Button(RemoveOpdHead(opd.id), label="opd_head_remove")] if opd.head_name else []
        return Outcome().add(Reply("opd/ask_head", _head_context(opd), keyboard(remove)))

    def remove_head(self, session: Session, user_id: int, opd_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        opd = session.get(Opd, opd_id)
        if opd is None or state.step != "head" or (state.data or {}).get("opd_id") != opd_id:
            return Outcome(notice="stale_button", notice_alert=True)
        opd.head_name = opd.head_nip = opd.head_position = None
        session.add(opd)
        repo.clear_flow(state)
        return Outcome(notice="saved").add(Reply("opd/head_removed", {"opd": opd.name}, edit=True))

    def _take_head(self, session: Session, state: ConversationState, text: str) -> Outcome:
        opd = session.get(Opd, (state.data or {}).get("opd_id"))
        if opd is None:
            repo.clear_flow(state)
            return Outcome(notice="opd_not_found", notice_alert=True)
        lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        name = lines[0] if lines else ""
        if not 2 <= len(lines) <= 3 or not HEAD_MIN <= len(name) <= NAME_MAX:
            return Outcome().add(Reply("opd/head_invalid", {"opd": opd.name, "problem": "lines"}))
        nip: str | None = None
        if lines[1] not in ("-", "—"):
            checked = check_nip(lines[1])
            if checked.nip is None:
                context = {"problem": checked.problem, "digits": checked.digits, "head": True}
                return Outcome().add(Reply("register/nip_invalid", context))
            nip = checked.nip
        position = lines[2][:NAME_MAX] if len(lines) == 3 else None
        opd.head_name, opd.head_nip, opd.head_position = name, nip, position
        session.add(opd)
        repo.clear_flow(state)
        return Outcome(notice="saved").add(Reply("opd/head_saved", _head_context(opd)))

    def deactivate(self, session: Session, user_id: int, opd_id: int) -> Outcome:
        opd = session.get(Opd, opd_id)
        if opd is None or not opd.active:
            return Outcome(notice="opd_not_found", notice_alert=True)
        opd.active = False
        session.add(opd)
        repo.clear_flow(repo.get_state(session, user_id))
        return Outcome(notice="saved").add(Reply("opd/deactivated", {"opd": opd.name}, edit=True))

    def _add(self, session: Session, state: ConversationState, text: str) -> Outcome:
        name = " ".join(text.split())
        if not NAME_MIN <= len(name) <= NAME_MAX:
            return Outcome().add(
                Reply("opd/name_invalid", {"minimum": NAME_MIN, "maximum": NAME_MAX})
            )
        existing = session.exec(select(Opd).where(func.lower(Opd.name) == name.lower())).first()
        repo.clear_flow(state)
        if existing is not None and existing.active:
            return Outcome().add(Reply("opd/exists", {"opd": existing.name}))
        if existing is not None:
            existing.active = True
            session.add(existing)
            return Outcome().add(Reply("opd/reactivated", {"opd": existing.name}))
        session.add(Opd(name=name))
        return Outcome().add(Reply("opd/added", {"opd": name}))


def seed_default_opds(session: Session, names: tuple[str, ...]) -> int:
    """Fill an empty OPD list with the shipped defaults; an existing list is left alone."""
    if session.exec(select(Opd).limit(1)).first() is not None:
        return 0
    for name in names:
        session.add(Opd(name=name))
    return len(names)


def _head_context(opd: Opd) -> dict[str, str]:
    return {
        "opd": opd.name,
        "name": opd.head_name or "",
        "nip": format_nip(opd.head_nip) if opd.head_nip else "",
        "position": opd.head_position or phrase("opd_head_position", opd=opd.name),
    }
