"""The one entry point handlers call: routes a user's text, command or button to a feature.

Each call is one database transaction, opened here, so the answer and the user's new place in
the conversation are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col

from bot.services.context import ServiceContext
from bot.services.drafting.routes import ContinueDraft, ListDrafts, NewDraft
from bot.services.feature import CommandHandler, Feature, Media, RouteHandler
from bot.services.replies import Button, Outcome, Reply, keyboard
from bot.services.roles import Role
from bot.services.routes import Route, StaleRoute, find_route
from models import repository as repo
from models.db import AlreadyRecorded, is_passing_failure
from models.tables import ConversationState, ProcessedUpdate, User

# Telegram keeps an unconfirmed update (and retries a webhook) for at most 24 hours.
PROCESSED_UPDATES_KEPT = timedelta(hours=48)
__all__ = ["AlreadyRecorded", "Dialog", "UpdateMark", "is_passing_failure"]


@dataclass(frozen=True)
class UpdateMark:
    """Which Telegram update an entry point handles: its id and a digest of its content (a
    redelivery carries the same; a new update reusing an old id differs)."""

    update_id: int
    fingerprint: str = ""


class Dialog:
    def __init__(self, ctx: ServiceContext, features: list[Feature]) -> None:
        self.ctx = ctx
        self.features = features
        self.commands = {"bantuan": self._help, "batal": self._cancel}
        self.text_flows: dict = {}
        self.media_flows: dict = {}
        self.cancel_flows: dict = {}
        self.start_payloads: dict = {}
        self.resend_checks: dict = {}
        self.routes: dict[type[Route], RouteHandler] = {}
        # The features' hooks (Feature.before_text, on_redelivery, awaited), in feature order.
        self.before_text = [f.before_text for f in features if f.before_text]
        self.on_redelivery = [f.on_redelivery for f in features if f.on_redelivery]
        self.awaited = [f.awaited for f in features if f.awaited]
        # The role each route and command needs (its feature's, or the override it declares).
        self.route_roles: dict[type[Route], Role] = {}
        self.command_roles: dict[str, Role] = {"bantuan": Role.ANYONE, "batal": Role.ANYONE}
        self.flow_roles: dict[str, Role] = {}
        self.unlisted_commands: set[str] = set()
        self.role_checks: dict = {Role.ADMIN: lambda session, user_id: ctx.is_admin(user_id)}
        self.role_members: dict = {Role.ADMIN: lambda session: list(ctx.admin_ids)}
        for feature in features:
            self._plug(feature)

    def _plug(self, feature: Feature) -> None:
        for registry, additions in (
            (self.commands, feature.commands),
            (self.text_flows, feature.text_flows),
            (self.media_flows, feature.media_flows),
            (self.cancel_flows, feature.cancel_flows),
            (self.start_payloads, feature.start_payloads),
            (self.resend_checks, feature.resend_checks),
        ):
            clash = set(registry) & set(additions)
            if clash:
                raise ValueError(f"feature {feature.name} redefines {sorted(clash)}")
            registry.update(additions)
        for route, handler in feature.routes.items():
            if route in self.routes:
                raise ValueError(f"feature {feature.name} redefines route {route.__name__}")
            self.routes[route] = handler
            self.route_roles[route] = feature.roles.get(route, feature.role)
        for name in feature.commands:
            self.command_roles[name] = feature.roles.get(name, feature.role)
        self.unlisted_commands |= feature.unlisted_commands
        for flow in (*feature.text_flows, *feature.media_flows):
            self.flow_roles[flow] = feature.roles.get(flow, feature.role)
        for role, check in feature.role_checks.items():
            self.role_checks[role] = check
        for role, members in feature.role_members.items():
            self.role_members[role] = members

    # ---- updates seen before, unreachable users ----------------------------------------------

    def _session(self, mark: UpdateMark | None):
        """The entry point's transaction, recording the update it handles in it: a process
        killed before the commit leaves it unrecorded, so the redelivered update is handled in
        full, and one killed after it is recognised (AlreadyRecorded at the first statement)."""
        first = None
        if mark is not None:
            first = ProcessedUpdate(
                update_id=mark.update_id, fingerprint=mark.fingerprint, processed_at=self.ctx.now()
            )
        return self.ctx.db.session(first=first)

    def redelivered(
        self, user_id: int, entry: str = "", args: tuple = (), message_id: int | None = None
    ) -> Outcome:
        """What to do with an update handled before (`entry` and `args` as first called): its
        change is stored, but what it sent may have been lost with the process. A message for
        the other side of a conversation that never left is passed on now; a user answering a
        draft is asked the question they are at; elsewhere the repeat is ignored, as a reply
        seen twice there (a list, a confirmation) would only confuse."""
        with self.ctx.db.session() as session:
            state = repo.get_state(session, user_id)
            check = self.resend_checks.get(state.flow)
            if check is None or entry not in ("text", "non_text") or message_id is None:
                return self._ask_again(session, state)
            if check(session, state, message_id):
                return Outcome()
        # Never passed on: handled as new, in a transaction of its own.
        return getattr(self, entry)(user_id, *args)

    def reply_to(self, user_id: int, replied_message_id: int) -> bool:
        """A Telegram reply to one of the user's messages: whether a feature took it."""
        hooks = (f.reply_to for f in self.features if f.reply_to)
        return any(hook(user_id, replied_message_id) for hook in hooks)

    def edited_copies(self, user_id: int, message_id: int) -> list[tuple[int, int]]:
        """Where an edited message was copied to (chat id, message id), to edit alike."""
        hooks = (f.edited_copies for f in self.features if f.edited_copies)
        return [copy for hook in hooks for copy in hook(user_id, message_id)]

    def roles_of(self, user_id: int) -> list[str]:
        """The roles whose commands the user's menu shows: everyone's ("asn"), then "mentor"
        and "admin" for those who hold them."""
        with self.ctx.db.session() as session:
            return self._menu_roles(session, user_id)

    def _menu_roles(self, session: Session, user_id: int) -> list[str]:
        held = [r for r in (Role.MENTOR, Role.ADMIN) if self.holds(session, user_id, r)]
        return [Role.ASN.value, *(r.value for r in held)]

    def menu_role(self, command: str) -> str | None:
        """The menu (and /bantuan section) a command is listed in: "asn" for everyone's,
        "mentor", "admin"; None for a command that is unlisted or not declared."""
        role = self.command_roles.get(command)
        if role is None or command in self.unlisted_commands:
            return None
        return Role.ASN.value if role in (Role.ANYONE, Role.ASN) else role.value

    def listed_commands(self) -> dict[str, str]:
        """Every listed command -> its menu role (what templates/labels.yaml must give texts)."""
        listed = {name: self.menu_role(name) for name in self.command_roles}
        return {name: role for name, role in listed.items() if role is not None}

    def people_with_roles(self) -> list[int]:
        """Everyone whose menu is more than everyone's: admins and active mentors."""
        with self.ctx.db.session() as session:
            return sorted({p for members in self.role_members.values() for p in members(session)})

    def holds(self, session: Session, user_id: int, role: Role) -> bool:
        """Whether the user may use what `role` guards (ANYONE and ASN: see _denied)."""
        if role in (Role.ANYONE, Role.ASN):
            return True
        check = self.role_checks.get(role)
        return check is not None and check(session, user_id)

    def claim_error_report(self, kind: str, interval: timedelta) -> bool:
        """Whether this process should tell the admins of an error of this kind now."""
        try:
            with self.ctx.db.session() as session:
                return repo.claim_error_report(session, kind[:200], self.ctx.now(), interval)
        except IntegrityError:  # another process recorded the first report of it just now
            return False

    def prune_processed_updates(self) -> int:
        """Forget updates older than Telegram redelivers (at start and hourly while running):
        the table stays small, and an old id is never mistaken for a new update's."""
        cutoff = self.ctx.now() - PROCESSED_UPDATES_KEPT
        with self.ctx.db.session() as session:
            result = session.exec(
                delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < cutoff)
            )
            return result.rowcount or 0

    def set_reachable(self, user_id: int, reachable: bool) -> None:
        """Telegram answered 403 (blocked) or the user came back: remembered for fan-outs."""
        with self.ctx.db.session() as session:
            user = session.get(User, user_id)
            if user is not None and user.reachable != reachable:
                user.reachable = reachable
                session.add(user)

    # ---- entry points -------------------------------------------------------------------------

    def text(self, user_id: int, text: str, mark: UpdateMark | None = None) -> Outcome:
        with self._session(mark) as session:
            state = repo.get_state(session, user_id)
            for before in self.before_text:
                taken = before(session, state, text)
                if taken is not None:
                    return taken
            state.last_text_target = None
            handler = self.text_flows.get(state.flow)
            if handler is not None:
                if denied := self._left_role(session, state):
                    return denied
                return self._open_pending_start(session, state, handler(session, state, text))
            return self._idle_text(session, user_id)

    def command(
        self, user_id: int, name: str, args: str = "", mark: UpdateMark | None = None
    ) -> Outcome:
        with self._session(mark) as session:
            state = repo.get_state(session, user_id)
            state.last_text_target = None
            if name == "start" and args:
                handler = self._start_payload_handler(args)
                if handler is not None:
                    return self._start_with_payload(session, state, handler, args)
            handler = self.commands.get(name)
            if handler is None:
                return self._unknown_command(state, name)
            if denied := self._denied(session, user_id, self.command_roles[name]):
                return denied
            return self._open_pending_start(session, state, handler(session, state, args))

    def callback(self, user_id: int, data: str, mark: UpdateMark | None = None) -> Outcome:
        with self._session(mark) as session:
            # A button press is a deliberate act: a text after it is not the rest of a paste.
            repo.get_state(session, user_id).last_text_target = None
            route = find_route(data)
            if route is None or route not in self.routes:  # no feature answers it (any more)
                return _stale()
            return self._route(session, user_id, route, data)

    def _route(self, session: Session, user_id: int, route: type[Route], data: str) -> Outcome:
        try:
            value = route.unpack(data)
        except StaleRoute:
            return _stale()
        denied = self._denied(session, user_id, self.route_roles[route], button=True)
        if denied is not None:
            return denied
        handler = self.routes[route]
        return self._guarded(session, user_id, lambda: handler(session, user_id, value))

    def _guarded(self, session: Session, user_id: int, call) -> Outcome:
        try:
            outcome = call()
            # Not get_state: that would bring back the row of an account just deleted.
            state = session.get(ConversationState, user_id)
            return self._open_pending_start(session, state, outcome)
        except (ValueError, IndexError, KeyError, OverflowError, DataError):
            # Forged or truncated data (an id past the column's integer range is a
            # DataError on PostgreSQL): nothing happened, nothing revealed.
            session.rollback()
            return _stale()

    def _left_role(self, session: Session, state: ConversationState) -> Outcome | None:
        """A user in a flow of a role they no longer hold (an admin removed from the config, a
        mentor deactivated): the flow ends, and they are told why."""
        role = self.flow_roles.get(state.flow, Role.ANYONE)
        if self.holds(session, state.user_id, role):
            return None
        repo.clear_flow(state)
        return self._denied(session, state.user_id, role)

    def _denied(
        self, session: Session, user_id: int, role: Role, button: bool = False
    ) -> Outcome | None:
        """What a user who may not use something guarded by `role` is told; None if they may."""
        if role is not Role.ANYONE and not self._registered(session, user_id):
            reply = _register_first().replies[0]
            notice = "register_first" if button else None
            return Outcome(notice=notice, notice_alert=button).add(reply)
        if self.holds(session, user_id, role):
            return None
        if role is Role.MENTOR:
            return Outcome(notice="mentor_only", notice_alert=True).add(Reply("mentor/not_mentor"))
        if button:  # a pressed (or forged) admin button: a toast only, nothing else
            return Outcome(notice="forbidden", notice_alert=True)
        return Outcome(notice="forbidden", notice_alert=True).add(Reply("common/forbidden"))

    def non_text(self, user_id: int, media: Media | str, mark: UpdateMark | None = None) -> Outcome:
        """A photo, sticker, voice note or file: a flow that takes media gets it."""
        media = media if isinstance(media, Media) else Media(kind=media)
        with self._session(mark) as session:
            state = repo.get_state(session, user_id)
            handler = self.media_flows.get(state.flow)
            if handler is not None:
                return self._left_role(session, state) or handler(session, state, media)
            awaited = (hook(session, state) for hook in self.awaited)
            section = next((a for a in awaited if a is not None), None)
            context = {"kind": media.kind, "flow": state.flow, "section": section}
            return Outcome().add(Reply("common/text_expected", context))

    # ---- deep links opened before registering ---------------------------------------------------

    def _start_with_payload(
        self, session: Session, state: ConversationState, handler: CommandHandler, payload: str
    ) -> Outcome:
        """`/start <payload>`. A handler that needs a registered user keeps the payload in
        `state.pending_start`; the registration then starts (or continues) right here."""
        outcome = handler(session, state, payload)
        if state.pending_start and not self._registered(session, state.user_id):
            _merge(outcome, self.commands["start"](session, state, ""))
        return outcome

    def _open_pending_start(
        self, session: Session, state: ConversationState | None, outcome: Outcome
    ) -> Outcome:
        """Once the registration is complete, the deep link opened before it is opened, in the
        same transaction (so a restart in between loses nothing). Its handler sees
        `state.pending_start` still set, so it can say that this is the link from before."""
        payload = state.pending_start if state is not None else None
        if state is None or not payload or not self._registered(session, state.user_id):
            return outcome
        if state.flow != repo.IDLE:  # e.g. the optional NIP step that ends the registration
            return outcome
        handler = self._start_payload_handler(payload)
        if handler is not None:
            _merge(outcome, handler(session, state, payload))
        state.pending_start = None
        return outcome

    # ---- small replies ------------------------------------------------------------------------

    def _ask_again(self, session: Session, state: ConversationState) -> Outcome:
        for hook in self.on_redelivery:
            outcome = hook(session, state)
            if outcome.replies:
                return outcome
        return Outcome()

    def _start_payload_handler(self, payload: str):
        return next((h for p, h in self.start_payloads.items() if payload.startswith(p)), None)

    def _registered(self, session: Session, user_id: int) -> bool:
        return repo.registered(session.get(User, user_id))

    def _help(self, session: Session, state: ConversationState, args: str = "") -> Outcome:
        context = {
            "roles": self._menu_roles(session, state.user_id),
            "command_roles": self.listed_commands(),
            "flow": state.flow,
        }
        return Outcome().add(Reply("common/help", context))

    def _cancel(self, session: Session, state: ConversationState, args: str = "") -> Outcome:
        handler = self.cancel_flows.get(state.flow)
        if handler is not None:
            return handler(session, state, args)
        flow = state.flow
        repo.clear_flow(state)
        return Outcome().add(Reply("common/cancelled", {"flow": flow}))

    def _unknown_command(self, state: ConversationState, name: str) -> Outcome:
        return Outcome().add(
            Reply("common/unknown_command", {"command": name[:64], "flow": state.flow})
        )

    def _idle_text(self, session: Session, user_id: int) -> Outcome:
        if not self._registered(session, user_id):
            return _register_first()
        drafts = repo.drafts_of(session, user_id)
        rows = [[Button(NewDraft(), label="new_draft"), Button(ListDrafts(), label="my_drafts")]]
        if drafts:
            rows.insert(0, [Button(ContinueDraft(drafts[0].id), label="continue_last")])
        return Outcome().add(Reply("common/idle_text", {}, keyboard(*rows)))


def _merge(outcome: Outcome, more: Outcome) -> None:
    """Append what a second step said and changed to the first step's outcome."""
    outcome.replies.extend(more.replies)
    outcome.rebuild = (*outcome.rebuild, *more.rebuild)
    outcome.menus = (*outcome.menus, *more.menus)
    outcome.notice = outcome.notice or more.notice


def _stale() -> Outcome:
    return Outcome(notice="stale_button", notice_alert=True)


def _register_first() -> Outcome:
    return Outcome().add(Reply("common/register_first"))
