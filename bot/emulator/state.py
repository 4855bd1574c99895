"""The emulator's in-memory world: chats, messages, files, the update queue.

Everything runs on one asyncio event loop, so plain data structures suffice; a single
:class:`Signal` wakes every waiter (long polls, ``receive()``, ``press()``) after any change and
each waiter re-checks its own condition. That keeps waiting event-driven without a lock or one
condition variable per concern.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import BLOCKED, ApiError, bad_request

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


def now() -> int:
    """Unix time in seconds, the form of every ``date`` field."""
    return int(time.time())


class Signal:
    """Broadcast "something changed" to every coroutine waiting for a condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``predicate()`` holds; False if ``timeout`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    async def wait_next(self, timeout: float | None) -> None:
        """Wait for the next change (or ``timeout`` seconds)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


@dataclass
class StoredFile:
    """A file the emulator holds: uploaded by the bot or sent by a simulated user."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str

    @property
    def size(self) -> int:
        return len(self.content)

    def as_file(self) -> dict[str, Any]:
        """The ``File`` object getFile answers with."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


class FileStore:
    """Files by file_id and by download path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self, kind: str, content: bytes, file_name: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        number = next(self._counter)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:06d}{secrets.token_hex(8)}",
            file_unique_id=f"U{number:06d}{secrets.token_hex(3)}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{kind}s/file_{number}{suffix}",
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)


@dataclass
class StoredMessage:
    """One message in a chat, kept in its current (possibly edited) state."""

    api: dict[str, Any]  # the Message object exactly as the Bot API returns it
    from_bot: bool
    method: str = ""
    raw_text: str | None = None  # text or caption as the bot sent it (HTML source)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None  # as sent, including reply keyboards
    files: list[StoredFile] = field(default_factory=list)
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.api["message_id"])

    @property
    def kind(self) -> str:
        for key in ("text", "document", "photo", "voice", "sticker", "audio", "video"):
            if key in self.api:
                return key
        return "animation" if "animation" in self.api else "other"

    def view(self, *, edited: bool = False) -> dict[str, Any]:
        """What a simulated user "sees": a snapshot dict for ``receive()`` and ``messages``.

        ``text`` is the source the bot sent (HTML included), ``plain`` the visible text;
        ``api`` holds the full Bot API Message.
        """
        api = copy.deepcopy(self.api)
        plain = api.get("text", api.get("caption"))
        stored = self.files[0] if self.files else None
        return {
            "message_id": self.message_id,
            "chat_id": api["chat"]["id"],
            "date": api["date"],
            "edit_date": api.get("edit_date"),
            "edited": edited,
            "method": self.method,
            "kind": self.kind,
            "text": self.raw_text if self.raw_text is not None else plain,
            "plain": plain,
            "caption": self.raw_text if "caption" in api else None,
            "parse_mode": self.parse_mode,
            "entities": api.get("entities", api.get("caption_entities", [])),
            "reply_markup": copy.deepcopy(self.reply_markup),
            "reply_to_message_id": (api.get("reply_to_message") or {}).get("message_id"),
            "document": api.get("document"),
            "photo": api.get("photo"),
            "file": None if stored is None else _file_view(stored),
            "api": api,
        }


def _file_view(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_name": stored.file_name,
        "mime_type": stored.mime_type,
        "content": stored.content,
    }


@dataclass
class ChatState:
    """A chat the emulator knows: a simulated user's private chat or a simulated group."""

    chat: dict[str, Any]  # the Chat object
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # bot sends/edits, in order
    last_message_id: int = 0
    blocked: bool = False
    bot_status: str = "member"  # member | administrator | left | kicked
    members: dict[int, dict[str, Any]] = field(default_factory=dict)  # user id -> ChatMember
    reply_keyboard: dict[str, Any] | None = None  # the custom keyboard the bot last showed
    pinned: list[int] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def is_private(self) -> bool:
        return self.chat["type"] == "private"

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def find(self, message_id: int) -> StoredMessage | None:
        stored = self.messages.get(message_id)
        return None if stored is None or stored.deleted else stored

    def check_writable(self) -> None:
        """The 403s Telegram gives for sending where the bot may not write."""
        if self.is_private and self.blocked:
            raise ApiError(403, BLOCKED)
        if not self.is_private and self.bot_status in ("left", "kicked"):
            kind = "supergroup" if self.chat["type"] == "supergroup" else "group"
            verb = "was kicked from" if self.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {kind} chat")


@dataclass
class QueuedUpdate:
    update: dict[str, Any]
    exempt: bool = False  # re-delivered duplicate: survives offsets until delivered once
    delivered: bool = False
    # Webhook delivery: failed attempts so far and when the next may start (loop time).
    failures: int = 0
    retry_at: float = 0.0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def type(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


class UpdateQueue:
    """getUpdates semantics: offsets confirm, allowed_updates filter, duplicates on demand."""

    def __init__(self, first_update_id: int = 1) -> None:
        self._next_id = first_update_id
        self.pending: list[QueuedUpdate] = []
        self.history: dict[int, dict[str, Any]] = {}
        self.allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES

    def push(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a new update (payload without ``update_id``) and return it."""
        update = {"update_id": self._next_id, **payload}
        self._next_id += 1
        self.history[update["update_id"]] = update
        self.pending.append(QueuedUpdate(copy.deepcopy(update)))
        return update

    def push_duplicate(self, update: dict[str, Any]) -> None:
        """Queue an update that keeps its given ``update_id`` (a redelivery).

        Later updates still get larger ids, so the bot's offset never skips them.
        """
        update_id = int(update["update_id"])
        self.history.setdefault(update_id, update)
        self._next_id = max(self._next_id, update_id + 1)
        self.pending.append(QueuedUpdate(copy.deepcopy(update), exempt=True))

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Telegram remembers the last non-null allowed_updates; an empty list resets it."""
        if allowed is None:
            return
        self.allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES

    def confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        self.pending = [
            item
            for item in self.pending
            if not (item.update_id < offset and (item.delivered or not item.exempt))
        ]

    def has_deliverable(self) -> bool:
        return any(item.type in self.allowed for item in self.pending)

    def take(self, limit: int) -> list[QueuedUpdate]:
        """Up to ``limit`` deliverable updates; undeliverable types are dropped for good."""
        self.pending = [item for item in self.pending if item.type in self.allowed]
        return self.pending[:limit]

    def drop_all(self) -> None:
        self.pending.clear()

    @property
    def all_delivered(self) -> bool:
        return all(item.delivered for item in self.pending)


@dataclass
class CallbackQueryState:
    """A callback query sent to the bot, and its answer once the bot gave one."""

    query_id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    answer: dict[str, Any] | None = None


def lookup_chat(chats: dict[int, ChatState], usernames: dict[str, int], chat_id: Any) -> ChatState:
    """Resolve an int id or ``@username``; unknown chats answer "chat not found"."""
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        chat_id = usernames.get(chat_id[1:].lower())
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    chat = chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request("chat not found")
    return chat
