"""Replies as data: what the bot should say, without knowing how it is sent.

Services return these; handlers render them from templates/ and send them to Telegram (or the
CLI prints them). That keeps the domain free of Telegram and testable on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.services.routes import Route


@dataclass(frozen=True)
class Button:
    """An inline button. `data` is the route it leads to (bot/services/routes.py), kept as its
    packed string; `label` is a key of templates/labels.yaml; `text` is literal data (an option
    of a format, a draft's title) shown as it is."""

    data: Route | str
    label: str | None = None
    text: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.label is None) == (self.text is None):
            raise ValueError("a button has either a label key or a literal text")
        if isinstance(self.data, Route):
            object.__setattr__(self, "data", self.data.pack())
        if len(self.data.encode()) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One message: template name (under templates/messages/, without .html.j2) and context."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: Keyboard = ()
    # Replace the message whose button was pressed instead of sending a new one.
    edit: bool = False
    # Another user's private chat (a mentor, an ASN); None is the chat the action came from.
    to: int | None = None


@dataclass(frozen=True)
class Chunk:
    """One part of a long text shown in several messages (see textutil.split_html_blocks)."""

    head_template: str
    head_context: dict[str, Any]
    body_text: str = ""
    # Show the body as a preformatted block, which Telegram copies with one tap.
    pre: bool = False


@dataclass(frozen=True)
class LongReply:
    """A text made of chunks that the renderer packs into as few messages as fit."""

    chunks: tuple[Chunk, ...]
    buttons: Keyboard = ()
    to: int | None = None


@dataclass(frozen=True)
class DocumentReply:
    """A file to send (an exported proposal, a data export) with a caption template."""

    filename: str
    content: bytes
    caption_template: str | None = None
    caption_context: dict[str, Any] = field(default_factory=dict)
    buttons: Keyboard = ()
    to: int | None = None


AnyReply = Reply | LongReply | DocumentReply


@dataclass(frozen=True)
class CopyReply:
    """Relay a message a user sent (text, photo, document) into another chat, after a header.

    `from_chat_id`/`message_id` None: the message being handled. Once sending and its retries
    are over, `on_result` runs off the event loop with (source message id, the copy's id or
    None, "sent" / "blocked" / "failed", the header's message id or None); it records the ids
    and may return an Outcome for the sender (e.g. "not delivered").
    """

    to: int
    header: Reply | None = None
    from_chat_id: int | None = None
    message_id: int | None = None
    reply_to_message_id: int | None = None
    on_result: Callable[[int, int | None, str, int | None], Outcome | None] | None = None


@dataclass
class Outcome:
    """Everything one user action produces: messages, and for a button press a short notice."""

    replies: list[AnyReply | CopyReply] = field(default_factory=list)
    notice: str | None = None  # a labels.yaml key shown as the button's toast
    notice_alert: bool = False
    # Scheduler sources whose wake-ups must be rebuilt because this action changed their data.
    rebuild: tuple[str, ...] = ()
    # Users given or stripped of a role by this action: their command menu changes.
    menus: tuple[int, ...] = ()

    def add(self, reply: AnyReply | CopyReply) -> Outcome:
        self.replies.append(reply)
        return self


def keyboard(*rows: list[Button] | tuple[Button, ...]) -> Keyboard:
    return tuple(tuple(row) for row in rows if row)


def one_per_row(buttons: list[Button]) -> Keyboard:
    return tuple((b,) for b in buttons)


def in_rows(buttons: list[Button], per_row: int) -> Keyboard:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
