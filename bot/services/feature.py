"""How a feature plugs into the Dialog: the commands, buttons and flows it answers.

Each feature (registration, drafting, consultations, competitions, ...) declares a `Feature`;
the composition root hands the list to `Dialog`. Adding a feature adds a module and one line
there, instead of editing the router.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.services.replies import Button, Outcome
from bot.services.roles import Role
from bot.services.routes import Route
from models.tables import ConversationState

# (session, state, arguments after the command)
CommandHandler = Callable[[Session, ConversationState, str], Outcome]
# (session, user id, the pressed button's route value, already unpacked and typed)
RouteHandler = Callable[[Session, int, Any], Outcome]
# (session, user id): whether the user holds a role the feature defines (e.g. active mentor)
RoleCheck = Callable[[Session, int], bool]
# (session): everyone holding that role now (their command menus show its commands)
RoleMembers = Callable[[Session], list[int]]
# (draft id) -> buttons this feature offers on an opened draft ("actions on an opened draft",
# the extension point drafting shows below its own buttons; see features.build_dialog)
DraftActions = Callable[[int], list[Button]]
# (session, state, typed text) while the user is in the flow
TextHandler = Callable[[Session, ConversationState, str], Outcome]
# (session, state, typed text) -> the answer if the hook takes the text, None to pass it on
BeforeText = Callable[[Session, ConversationState, str], "Outcome | None"]
# (session, state) -> what to send again after a redelivery (an empty Outcome: nothing)
Redelivery = Callable[[Session, ConversationState], Outcome]
# (session, state) -> what the user is asked for now (e.g. a draft's section), or None
Awaited = Callable[[Session, ConversationState], Any]
# (session, state, a photo/document/... the user sent) while in the flow
MediaHandler = Callable[[Session, ConversationState, "Media"], Outcome]


@dataclass(frozen=True)
class Media:
    """A non-text message: what it is, Telegram's file id, its caption, where it lives."""

    kind: str
    file_id: str | None = None
    caption: str | None = None
    chat_id: int | None = None
    message_id: int | None = None
    file_name: str | None = None


@dataclass
class Feature:
    name: str
    # The feature's domain service, for the composition root's wiring (never the Dialog).
    service: Any = None
    # Command name -> handler. Its role comes from `role`/`roles`; its menu and help texts from
    # templates/labels.yaml `commands:` (the menu and /bantuan are built from these two).
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    # Commands that work but are in no menu and no help (an alias: /antrian for /antrean).
    unlisted_commands: frozenset[str] = frozenset()
    # The buttons the feature answers: route class -> handler (see bot/services/routes.py).
    routes: dict[type[Route], RouteHandler] = field(default_factory=dict)
    # Who may use the feature's commands and routes; `roles` overrides it for some of them
    # (keyed by command name or route class). The Dialog checks it on every call.
    role: Role = Role.ASN
    roles: dict[str | type[Route], Role] = field(default_factory=dict)
    # Roles this feature defines (Role.MENTOR by the mentors feature): who holds one, who all do.
    role_checks: dict[Role, RoleCheck] = field(default_factory=dict)
    role_members: dict[Role, RoleMembers] = field(default_factory=dict)
    draft_actions: DraftActions | None = None
    text_flows: dict[str, TextHandler] = field(default_factory=dict)
    media_flows: dict[str, MediaHandler] = field(default_factory=dict)
    # Flow name -> what /batal does there (default: leave the flow).
    cancel_flows: dict[str, TextHandler] = field(default_factory=dict)
    # Payload prefix of a t.me/<bot>?start=<payload> deep link -> handler (gets the payload).
    start_payloads: dict[str, CommandHandler] = field(default_factory=dict)
    # Flows whose text and media only pass a message on (nothing else changes): a redelivered
    # update in one is handled again unless this says (session, state, message id) that the
    # message was passed on already; see Dialog.redelivered.
    resend_checks: dict[str, Callable[[Session, ConversationState, int], bool]] = field(
        default_factory=dict
    )
    # Hooks the Dialog calls whatever the flow (None: the feature has nothing to say there).
    # Takes a typed text before the flow's handler does (drafting: the rest of a split message).
    before_text: BeforeText | None = None
    # Asks again what a redelivered update's lost reply asked (drafting: the awaited question).
    on_redelivery: Redelivery | None = None
    # What the user is asked for now, named when they send a non-text message instead.
    awaited: Awaited | None = None
    # A Telegram reply to message id `m` of the user's chat: True if this feature took it
    # (consultations: the reply speaks in that relayed message's conversation). Own transaction.
    reply_to: Callable[[int, int], bool] | None = None
    # (user id, edited message id) -> (chat id, message id) of the copies to edit the same way.
    edited_copies: Callable[[int, int], list[tuple[int, int]]] | None = None
