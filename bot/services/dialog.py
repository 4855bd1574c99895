"""The one entry point handlers call: routes a user's text, command or button to a service.

Each call is one database transaction, opened here, so the answer and the user's new place in
the conversation are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.services import drafting as drafting_flow
from bot.services.context import ServiceContext
from bot.services.drafting import DraftingService
from bot.services.opd_admin import OPD_ADMIN, OpdAdminService
from bot.services.registration import PROFILE, REGISTER, RegistrationService
from bot.services.replies import Button, Outcome, Reply, keyboard
from models import repository as repo
from models.tables import ConversationState, ProcessedUpdate, User

# Commands that work before registration is complete.
OPEN_COMMANDS = {"start", "bantuan", "batal"}
KNOWN_COMMANDS = {"start", "bantuan", "ide", "draf", "lewati", "kembali", "batal", "profil", "opd"}
PROCESSED_UPDATES_KEPT = timedelta(days=7)


class Dialog:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.registration = RegistrationService(ctx)
        self.drafting = DraftingService(ctx)
        self.opd = OpdAdminService(ctx)

    # ---- updates seen before ------------------------------------------------------------------

    def first_delivery(self, update_id: int) -> bool:
        """Record an update id; False if it was handled before (Telegram re-delivers)."""
        try:
            with self.ctx.db.session() as session:
                session.add(ProcessedUpdate(update_id=update_id, processed_at=self.ctx.now()))
        except IntegrityError:
            return False
        return True

    def prune_processed_updates(self) -> None:
        cutoff = self.ctx.now() - PROCESSED_UPDATES_KEPT
        with self.ctx.db.session() as session:
            session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < cutoff))

    # ---- entry points -------------------------------------------------------------------------

    def text(self, user_id: int, text: str) -> Outcome:
        with self.ctx.db.session() as session:
            state = repo.get_state(session, user_id)
            if self.drafting.is_continuation(state):
                return self.drafting.append_continuation(session, state, text)
            state.last_text_target = None
            return self._route_text(session, state, text)

    def command(self, user_id: int, name: str, args: str = "") -> Outcome:
        with self.ctx.db.session() as session:
            state = repo.get_state(session, user_id)
            state.last_text_target = None
            if name not in KNOWN_COMMANDS:
                return self._unknown_command(session, state, name)
            if name not in OPEN_COMMANDS and not self._registered(session, user_id):
                return _register_first()
            return self._commands()[name](session, state)

    def callback(self, user_id: int, data: str) -> Outcome:
        parts = data.split(":")
        with self.ctx.db.session() as session:
            # A button press is a deliberate act: a text after it is not the rest of a paste.
            repo.get_state(session, user_id).last_text_target = None
            if parts[0] != "r" and not self._registered(session, user_id):
                return Outcome(notice="register_first", notice_alert=True).add(
                    _register_first().replies[0]
                )
            try:
                return self._route_callback(session, user_id, parts)
            except (ValueError, IndexError, KeyError):
                return Outcome(notice="stale_button", notice_alert=True)

    def non_text(self, user_id: int, kind: str) -> Outcome:
        """A photo, sticker, voice note or file where the bot only takes text."""
        with self.ctx.db.session() as session:
            state = repo.get_state(session, user_id)
            section = None
            if state.flow in (drafting_flow.DRAFT, drafting_flow.EDIT) and state.draft_id:
                draft = repo.owned_draft(session, user_id, state.draft_id)
                fmt = self.ctx.formats.get(draft.format_key) if draft else None
                if fmt and state.section_key and fmt.has_section(state.section_key):
                    section = fmt.section(state.section_key)
            context = {"kind": kind, "flow": state.flow, "section": section}
            return Outcome().add(Reply("common/text_expected", context))

    # ---- routing ------------------------------------------------------------------------------

    def _commands(self) -> dict[str, Callable[[Session, ConversationState], Outcome]]:
        return {
            "start": lambda s, st: self.registration.start(s, st.user_id),
            "bantuan": self._help,
            "ide": lambda s, st: self.drafting.choose_format(s, st.user_id),
            "draf": lambda s, st: self.drafting.list_drafts(s, st.user_id),
            "lewati": self.drafting.skip,
            "kembali": self.drafting.back,
            "batal": self._cancel,
            "profil": lambda s, st: self.registration.profile(s, st.user_id),
            "opd": lambda s, st: self.opd.menu(s, st.user_id),
        }

    def _route_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if state.flow in (REGISTER, PROFILE):
            return self.registration.on_text(session, state, text)
        if state.flow in (drafting_flow.DRAFT, drafting_flow.EDIT):
            return self.drafting.on_text(session, state, text)
        if state.flow == drafting_flow.RENAME:
            return self.drafting.rename(session, state, text)
        if state.flow == OPD_ADMIN:
            return self.opd.on_text(session, state, text)
        return self._idle_text(session, state.user_id)

    def _route_callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        kind = parts[0]
        if kind == "r":
            if parts[1] == "o":
                return self.registration.choose_opd(session, user_id, int(parts[2]))
            return self.registration.consent(session, user_id, parts[1] == "ok")
        if kind == "p":
            return self.registration.change(session, user_id, parts[1])
        if kind == "n":
            if not parts[1]:
                return self.drafting.choose_format(session, user_id)
            return self.drafting.create(session, user_id, parts[1])
        if kind == "a":
            draft_id, index, option = (int(p) for p in parts[1:4])
            return self.drafting.on_choice(session, user_id, draft_id, index, option)
        if kind == "d":
            return self._draft_callback(session, user_id, parts[1], parts[2:])
        if kind == "o":
            return self._opd_callback(session, user_id, parts[1], parts[2:])
        raise ValueError(kind)

    def _draft_callback(
        self, session: Session, user_id: int, action: str, args: list[str]
    ) -> Outcome:
        numbers = [int(a) for a in args]
        d = self.drafting
        if action == "l":
            return d.list_drafts(session, user_id, numbers[0], edit=True)
        if action == "s":
            return d.edit_section(session, user_id, numbers[0], numbers[1])
        actions: dict[str, Callable[[Session, int, int], Outcome]] = {
            "o": d.open,
            "c": d.resume,
            "e": d.edit_menu,
            "p": d.preview,
            "r": d.ask_rename,
            "x": d.confirm_delete,
            "xx": d.delete,
        }
        if action == "o":
            repo.clear_flow(repo.get_state(session, user_id))
        return actions[action](session, user_id, numbers[0])

    def _opd_callback(
        self, session: Session, user_id: int, action: str, args: list[str]
    ) -> Outcome:
        if action == "a":
            return self.opd.ask(session, user_id, "add")
        if action == "d":
            return self.opd.ask(session, user_id, "deactivate")
        if action == "l":
            return self.opd.list_all(session, user_id)
        if action == "x":
            return self.opd.deactivate(session, user_id, int(args[0]))
        raise ValueError(action)

    # ---- small replies ------------------------------------------------------------------------

    def _registered(self, session: Session, user_id: int) -> bool:
        return repo.registered(session.get(User, user_id))

    def _help(self, session: Session, state: ConversationState) -> Outcome:
        context = {"is_admin": self.ctx.is_admin(state.user_id), "flow": state.flow}
        return Outcome().add(Reply("common/help", context))

    def _cancel(self, session: Session, state: ConversationState) -> Outcome:
        if state.flow in (drafting_flow.DRAFT, drafting_flow.EDIT, drafting_flow.RENAME):
            return self.drafting.pause(session, state)
        flow = state.flow
        repo.clear_flow(state)
        return Outcome().add(Reply("common/cancelled", {"flow": flow}))

    def _unknown_command(self, session: Session, state: ConversationState, name: str) -> Outcome:
        return Outcome().add(
            Reply("common/unknown_command", {"command": name[:64], "flow": state.flow})
        )

    def _idle_text(self, session: Session, user_id: int) -> Outcome:
        if not self._registered(session, user_id):
            return _register_first()
        drafts = repo.drafts_of(session, user_id)
        rows = [[Button(data="n:", label="new_draft"), Button(data="d:l:0", label="my_drafts")]]
        if drafts:
            rows.insert(0, [Button(data=f"d:c:{drafts[0].id}", label="continue_last")])
        return Outcome().add(Reply("common/idle_text", {}, keyboard(*rows)))


def _register_first() -> Outcome:
    return Outcome().add(Reply("common/register_first"))
