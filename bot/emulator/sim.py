"""Simulated Telegram users and groups: the scripting API end-to-end tests drive.

A simulated chat sees what a Telegram client would: the bot's messages in their current state
(``messages``) and, in order, every send and edit (``receive()``). Users act by producing updates
that the bot fetches through getUpdates, exactly as from api.telegram.org.
"""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import struct
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .core import chat_member
from .formatting import command_entities
from .markup import inline_buttons
from .state import ChatState, StoredMessage

if TYPE_CHECKING:
    from .emulator import BotApiEmulator


def _tiny_png() -> bytes:
    """A valid 1x1 transparent PNG, so code that inspects a user's photo gets real image bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


TINY_PNG = _tiny_png()
OGG_HEADER = b"OggS\x00\x02" + bytes(20)
WEBP_HEADER = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00"


class SimChat:
    """What one chat (private or group) shows of the bot, plus button presses."""

    def __init__(self, emu: BotApiEmulator, state: ChatState) -> None:
        self._emu = emu
        self._core = emu.core
        self.state = state
        self._cursor = 0  # index into state.events of the next receive()

    @property
    def id(self) -> int:
        return self.state.id

    # -- what the chat shows ---------------------------------------------------------------------

    @property
    def messages(self) -> dict[int, dict[str, Any]]:
        """The bot's messages by id in their current state (edits applied, deletions gone)."""
        return {
            mid: stored.view()
            for mid, stored in sorted(self.state.messages.items())
            if stored.from_bot and not stored.deleted
        }

    @property
    def deleted_message_ids(self) -> list[int]:
        return sorted(mid for mid, stored in self.state.messages.items() if stored.deleted)

    @property
    def last_keyboard_message(self) -> dict[str, Any] | None:
        """The latest bot message here that still carries an inline keyboard."""
        stored = self._latest_keyboard()
        return None if stored is None else stored.view()

    @property
    def reply_keyboard(self) -> dict[str, Any] | None:
        """The custom (reply) keyboard the bot last showed, until removed."""
        return copy.deepcopy(self.state.reply_keyboard)

    def buttons(self, message_id: int | None = None) -> list[list[tuple[str, str | None]]]:
        """Rows of ``(text, callback_data)`` of a message (default: the latest keyboard)."""
        stored = self._keyboard_message(message_id)
        return [
            [(button["text"], button.get("callback_data")) for button in row]
            for row in inline_buttons(stored.api.get("reply_markup"))
        ]

    # -- receiving -------------------------------------------------------------------------------

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next send or edit (``edited=True``) by the bot here since the last receive."""
        arrived = await self._core.signal.wait_for(
            lambda: self._cursor < len(self.state.events), timeout
        )
        if not arrived:
            raise AssertionError(
                f"no message from the bot in chat {self.id} within {timeout}s\n{self.describe()}"
            )
        event = self.state.events[self._cursor]
        self._cursor += 1
        return event

    async def receive_all(self, idle: float = 0.3, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Everything the bot sends until it has been quiet for ``idle`` seconds.

        Waits up to ``timeout`` for the first message (returns ``[]`` if none comes) and never
        longer than ``timeout`` in total.
        """
        loop = asyncio.get_running_loop().time
        deadline = loop() + timeout
        received: list[dict[str, Any]] = []
        wait = timeout
        while wait > 0:
            if not await self._core.signal.wait_for(
                lambda: self._cursor < len(self.state.events), wait
            ):
                break
            received.extend(self.state.events[self._cursor :])
            self._cursor = len(self.state.events)
            wait = min(idle, deadline - loop())
        return received

    def update_mark(self) -> int:
        """The id of the latest update queued so far (0 before any): see updates_since."""
        history = self._core.updates.history
        return max(history) if history else 0

    def updates_since(self, mark: int) -> list[int]:
        """Ids of the updates queued after ``mark`` (an earlier :meth:`update_mark`)."""
        return [i for i in self._core.updates.history if i > mark]

    async def receive_answer(
        self,
        update_ids: Iterable[int],
        *,
        idle: float = 0.3,
        timeout: float = 5.0,
        grace: float = 0.03,
    ) -> list[dict[str, Any]]:
        """What the bot sends in answer to ``update_ids``: like :meth:`receive_all`, but
        once the bot has finished with those updates (see ``BotApiEmulator.is_handled``)
        it stops after only ``grace`` quiet seconds. Never waits longer than receive_all
        with the same ``idle`` and ``timeout`` would. Messages sent after the handler
        returned (background jobs) need an explicit wait of their own.
        """
        wanted = set(update_ids)
        loop = asyncio.get_running_loop().time
        deadline = loop() + timeout
        quiet_until = deadline  # receive_all: up to ``timeout`` for the first message
        received: list[dict[str, Any]] = []
        while True:
            done = self._emu.is_handled(wanted)
            limit = min(quiet_until, loop() + grace) if done else quiet_until
            remaining = min(limit, deadline) - loop()
            if remaining <= 0:
                break
            if not await self._core.signal.wait_for(
                lambda done=done: (
                    self._cursor < len(self.state.events)
                    or (not done and self._emu.is_handled(wanted))
                ),
                remaining,
            ):
                break
            if self._cursor < len(self.state.events):
                received.extend(self.state.events[self._cursor :])
                self._cursor = len(self.state.events)
                quiet_until = loop() + idle
        return received

    def clear(self) -> None:
        """Skip everything received so far (the next receive() waits for something new)."""
        self._cursor = len(self.state.events)

    def describe(self, limit: int = 8) -> str:
        """Recent bot messages and API calls here: the context for a failed assertion."""
        lines = [f"recent bot messages in chat {self.id}:"]
        for event in self.state.events[-limit:]:
            mark = " (edit)" if event["edited"] else ""
            text = (event["plain"] or f"<{event['kind']}>")[:120]
            lines.append(f"  #{event['message_id']}{mark}: {text!r} buttons={_labels(event)}")
        if len(lines) == 1:
            lines.append("  (none)")
        calls = [call for call in self._emu.calls if call.chat_id == self.id][-limit:]
        lines.append("recent API calls for this chat:")
        lines.extend(f"  {call!r}" for call in calls)
        if not calls:
            lines.append("  (none)")
        return "\n".join(lines)

    # -- internals shared by users and groups ----------------------------------------------------

    def _latest_keyboard(self) -> StoredMessage | None:
        for _, stored in sorted(self.state.messages.items(), reverse=True):
            if (
                stored.from_bot
                and not stored.deleted
                and inline_buttons(stored.api.get("reply_markup"))
            ):
                return stored
        return None

    def _keyboard_message(self, message_id: int | None) -> StoredMessage:
        if message_id is None:
            stored = self._latest_keyboard()
            if stored is None:
                raise AssertionError(
                    f"no bot message with an inline keyboard in chat {self.id}\n{self.describe()}"
                )
            return stored
        return self._bot_message(message_id)

    def _bot_message(self, message_id: int | None) -> StoredMessage:
        """A bot message by id, or the latest one if ``message_id`` is None."""
        if message_id is None:
            ids = [mid for mid, s in self.state.messages.items() if s.from_bot and not s.deleted]
            if not ids:
                raise AssertionError(f"the bot has sent nothing to chat {self.id}")
            message_id = max(ids)
        stored = self.state.find(message_id)
        if stored is None or not stored.from_bot:
            raise AssertionError(f"no bot message #{message_id} in chat {self.id}")
        return stored

    def _post(self, user: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """Store a message from ``user`` in this chat and deliver it as a ``message`` update."""
        api = self._core.new_message(self.state, user, content)
        self._core.store_user_message(self.state, api)
        self._core.push_update({"message": copy.deepcopy(api)})
        return api

    def _reply_fields(self, reply_to: int | None) -> dict[str, Any]:
        if reply_to is None:
            return {}
        target = self.state.find(reply_to)
        if target is None:
            raise AssertionError(f"cannot reply to unknown message #{reply_to} in chat {self.id}")
        replied = copy.deepcopy(target.api)
        replied.pop("reply_to_message", None)
        return {"reply_to_message": replied}

    async def _press(
        self,
        user: dict[str, Any],
        label: str,
        message_id: int | None,
        timeout: float,
        expect_answer: bool,
    ) -> dict[str, Any] | None:
        stored = self._keyboard_message(message_id)
        button = _find_button(stored, label)
        if button is None:
            raise AssertionError(
                f"no button {label!r} on message #{stored.message_id} in chat {self.id}; "
                f"available: {_button_texts(stored)}"
            )
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} has no callback_data: {button}")
        return await self._callback(user, stored, button["callback_data"], timeout, expect_answer)

    async def _press_data(
        self,
        user: dict[str, Any],
        data: str,
        message_id: int | None,
        timeout: float,
        expect_answer: bool,
    ) -> dict[str, Any] | None:
        stored = self._bot_message(message_id)
        return await self._callback(user, stored, data, timeout, expect_answer)

    async def _callback(
        self,
        user: dict[str, Any],
        stored: StoredMessage,
        data: str,
        timeout: float,
        expect_answer: bool,
    ) -> dict[str, Any] | None:
        """Send a callback query and wait for the bot's answerCallbackQuery."""
        query_id = self._core.new_callback_query(self.state, stored, user, data)
        if not expect_answer:
            return None
        query = self._core.callback_queries[query_id]
        answered = await self._core.signal.wait_for(lambda: query.answer is not None, timeout)
        if not answered or query.answer is None:
            raise AssertionError(
                f"the bot did not answer callback query {data!r} within {timeout}s\n"
                f"{self.describe()}"
            )
        return dict(query.answer)


class SimUser(SimChat):
    """A Telegram user in a private chat with the bot (chat id == user id)."""

    def __init__(self, emu: BotApiEmulator, state: ChatState, user: dict[str, Any]) -> None:
        super().__init__(emu, state)
        self.user = user

    @property
    def first_name(self) -> str:
        return str(self.user["first_name"])

    @property
    def username(self) -> str | None:
        return self.user.get("username")

    async def send(self, text: str, *, reply_to: int | None = None) -> dict[str, Any]:
        """Write ``text`` to the bot; ``/commands`` get bot_command entities."""
        return self._post(self.user, _text_content(text) | self._reply_fields(reply_to))

    async def edit(self, message_id: int, text: str) -> dict[str, Any]:
        """Edit one of this user's messages: an ``edited_message`` update."""
        stored = self.state.find(message_id)
        if stored is None or stored.from_bot:
            raise AssertionError(f"user {self.id} has no message #{message_id} to edit")
        kept = {key: value for key, value in stored.api.items() if key != "entities"}
        stored.api = {**kept, **_text_content(text), "edit_date": stored.api["date"] + 1}
        stored.raw_text = text
        self._core.push_update({"edited_message": copy.deepcopy(stored.api)})
        return copy.deepcopy(stored.api)

    async def send_photo(
        self, content: bytes = TINY_PNG, *, caption: str | None = None
    ) -> dict[str, Any]:
        mime = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
        stored = self._core.files.add("photo", content, None, mime)
        sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "width": width,
                "height": height,
            }
            for width, height in ((90, 90), (800, 600))
        ]
        content_fields: dict[str, Any] = {"photo": sizes}
        if caption:
            content_fields["caption"] = caption
        return self._post(self.user, content_fields)

    async def send_document(
        self,
        filename: str = "document.pdf",
        content: bytes = b"%PDF-1.4\n%emulator\n",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._core.files.add("document", content, filename, mime)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": stored.size,
        }
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
        return self._post(self.user, fields)

    async def send_voice(self, content: bytes = OGG_HEADER, *, duration: int = 2) -> dict[str, Any]:
        stored = self._core.files.add("voice", content, None, "audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self._post(self.user, {"voice": voice})

    async def send_sticker(self, emoji: str = "👍") -> dict[str, Any]:
        stored = self._core.files.add("sticker", WEBP_HEADER, None, "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
            "file_size": stored.size,
        }
        return self._post(self.user, {"sticker": sticker})

    async def press(
        self,
        label: str,
        *,
        message_id: int | None = None,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> dict[str, Any] | None:
        """Press the button labelled ``label`` (exact text, else substring) and return the
        bot's callback answer ``{text, show_alert, url, cache_time}``."""
        return await self._press(self.user, label, message_id, timeout, expect_answer)

    async def press_data(
        self,
        data: str,
        *,
        message_id: int | None = None,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> dict[str, Any] | None:
        """Send arbitrary (possibly forged) callback data on a bot message."""
        return await self._press_data(self.user, data, message_id, timeout, expect_answer)

    def block_bot(self) -> None:
        self._emu.block(self.id)

    def unblock_bot(self) -> None:
        self._emu.unblock(self.id)


class SimGroup(SimChat):
    """A group or supergroup where simulated users talk and the bot may be a member."""

    async def add_bot(self, by: SimUser, *, as_admin: bool = False) -> dict[str, Any]:
        """``by`` adds the bot: a my_chat_member update, then a new_chat_members message."""
        self._add_member(by.user)
        status = "administrator" if as_admin else "member"
        self._core.push_member_change(self.state, by.user, self.state.bot_status, status)
        return self._post(by.user, {"new_chat_members": [copy.deepcopy(self._core.bot_user)]})

    async def remove_bot(self, by: SimUser) -> dict[str, Any]:
        """``by`` removes the bot: a my_chat_member update; later sends answer 403."""
        return self._core.push_member_change(self.state, by.user, self.state.bot_status, "left")

    async def add_member(self, user: SimUser, *, by: SimUser | None = None) -> dict[str, Any]:
        """``user`` joins (or is added by ``by``): a new_chat_members service message."""
        self._require_bot()
        self._add_member(user.user)
        return self._post((by or user).user, {"new_chat_members": [copy.deepcopy(user.user)]})

    async def send(
        self, user: SimUser, text: str, *, reply_to: int | None = None
    ) -> dict[str, Any]:
        """``user`` writes in the group (the bot must be a member).

        With privacy mode on (Telegram's default) a bot that is not an admin only gets commands,
        replies to its own messages and @mentions; other messages are stored and returned but
        no update is queued.
        """
        self._require_bot()
        self._add_member(user.user)
        content = _text_content(text) | self._reply_fields(reply_to)
        if self._bot_sees(text, reply_to):
            return self._post(user.user, content)
        api = self._core.new_message(self.state, user.user, content)
        self._core.store_user_message(self.state, api)
        return api

    async def press(
        self,
        user: SimUser,
        label: str,
        *,
        message_id: int | None = None,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> dict[str, Any] | None:
        return await self._press(user.user, label, message_id, timeout, expect_answer)

    async def press_data(
        self,
        user: SimUser,
        data: str,
        *,
        message_id: int | None = None,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> dict[str, Any] | None:
        return await self._press_data(user.user, data, message_id, timeout, expect_answer)

    def _add_member(self, user: dict[str, Any]) -> None:
        self.state.members.setdefault(int(user["id"]), chat_member(user, "member"))

    def _require_bot(self) -> None:
        """Guard against scripting a group the bot cannot see (a common test-setup slip)."""
        if self.state.bot_status in ("left", "kicked"):
            raise AssertionError(
                f"the bot is not a member of group {self.id}: call `await group.add_bot(by=user)` "
                "first (or create it with emu.group(..., with_bot=True))"
            )

    def _bot_sees(self, text: str, reply_to: int | None) -> bool:
        """Telegram's privacy mode for bots in groups."""
        if not self._core.privacy_mode or self.state.bot_status == "administrator":
            return True
        username = self._core.bot_username.lower()
        if f"@{username}" in text.lower():
            return True
        if text.startswith("/"):
            target = text.split()[0].split("@", 1)
            return len(target) == 1 or target[1].lower() == username
        replied = self.state.find(reply_to) if reply_to is not None else None
        return replied is not None and replied.from_bot


def _text_content(text: str) -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    return content


def _find_button(stored: StoredMessage, label: str) -> dict[str, Any] | None:
    buttons = [b for row in inline_buttons(stored.api.get("reply_markup")) for b in row]
    exact = [b for b in buttons if b.get("text") == label]
    if exact:
        return exact[0]
    folded = label.casefold()
    partial = [b for b in buttons if folded in str(b.get("text", "")).casefold()]
    return partial[0] if partial else None


def _button_texts(stored: StoredMessage) -> list[str]:
    return _labels(stored.api)


def _labels(message: dict[str, Any]) -> list[str]:
    """Button texts of a message's inline keyboard, for error messages."""
    rows = inline_buttons(message.get("reply_markup"))
    return [button.get("text", "") for row in rows for button in row]
