"""The emulator core: bot identity plus the world state, shared by the API methods and the
simulated users. It knows nothing about HTTP so it can be reasoned about (and tested) alone.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from .state import (
    CallbackQueryState,
    ChatState,
    FileStore,
    Signal,
    StoredFile,
    StoredMessage,
    UpdateQueue,
    lookup_chat,
    now,
)

DEFAULT_TOKEN = "123456789:AAEmulatorTokenForKlinikInovasiTests0"
DEFAULT_BOT_USERNAME = "klinik_inovasi_bot"
DEFAULT_BOT_NAME = "Klinik Inovasi"
ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


def chat_member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object; administrators carry the full set of rights PTB requires."""
    member: dict[str, Any] = {"status": status, "user": copy.deepcopy(user)}
    if status == "administrator":
        member.update(dict.fromkeys(ADMIN_RIGHTS, True))
        member["can_be_edited"] = False
        member["is_anonymous"] = False
    if status == "kicked":
        member["until_date"] = 0
    return member


class EmulatorCore:
    """Bot identity, chats, files, updates and callback queries."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_NAME,
        *,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.privacy_mode = privacy_mode
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.chats: dict[int, ChatState] = {}
        self.usernames: dict[str, int] = {}
        self.users: dict[int, dict[str, Any]] = {}  # simulated users by id (User objects)
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.signal = Signal()
        self.webhook: dict[str, Any] = {"url": ""}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.settings: dict[str, dict[str, Any]] = {}  # setMyDescription & co., by method
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.poll_serial = 0
        self.closing = False
        self._query_ids = itertools.count(4_210_000_000_000_000_001)

    # -- chats -----------------------------------------------------------------------------------

    def add_chat(self, chat: dict[str, Any], *, bot_status: str = "member") -> ChatState:
        """Register a chat (idempotent) so the bot may address it."""
        existing = self.chats.get(chat["id"])
        if existing is not None:
            return existing
        state = ChatState(chat=chat, bot_status=bot_status)
        self.chats[state.id] = state
        if chat.get("username"):
            self.usernames[chat["username"].lower()] = state.id
        return state

    def chat(self, chat_id: Any) -> ChatState:
        """The chat for a ``chat_id`` parameter, or 400 "chat not found"."""
        return lookup_chat(self.chats, self.usernames, chat_id)

    def writable_chat(self, chat_id: Any) -> ChatState:
        """A chat the bot may send to right now (400 unknown, 403 blocked / not a member)."""
        chat = self.chat(chat_id)
        chat.check_writable()
        return chat

    # -- messages --------------------------------------------------------------------------------

    def new_message(
        self, chat: ChatState, sender: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        """A Message object with a fresh per-chat id; ``content`` adds text/media fields."""
        return {
            "message_id": chat.next_message_id(),
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(chat.chat),
            "date": now(),
            **content,
        }

    def store_bot_message(
        self,
        chat: ChatState,
        content: dict[str, Any],
        *,
        method: str,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        files: list[StoredFile] | None = None,
    ) -> StoredMessage:
        """Store a message the bot sent and show it to the chat's simulated user(s)."""
        api = self.new_message(chat, self.bot_user, content)
        if reply_markup and "inline_keyboard" in reply_markup:
            api["reply_markup"] = copy.deepcopy(reply_markup)
        stored = StoredMessage(
            api=api,
            from_bot=True,
            method=method,
            raw_text=raw_text,
            parse_mode=parse_mode,
            reply_markup=copy.deepcopy(reply_markup),
            files=files or [],
        )
        chat.messages[stored.message_id] = stored
        self.record_event(chat, stored, edited=False)
        return stored

    def store_user_message(self, chat: ChatState, api: dict[str, Any]) -> StoredMessage:
        stored = StoredMessage(api=api, from_bot=False, raw_text=api.get("text"))
        chat.messages[stored.message_id] = stored
        return stored

    def record_event(self, chat: ChatState, stored: StoredMessage, *, edited: bool) -> None:
        """Append a send/edit to the chat's event log that ``receive()`` walks."""
        chat.events.append(stored.view(edited=edited))
        self.signal.notify()

    def push_member_change(
        self, chat: ChatState, by: dict[str, Any], old_status: str, new_status: str
    ) -> dict[str, Any]:
        """A ``my_chat_member`` update: the bot's own status in ``chat`` changed."""
        chat.bot_status = new_status
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": copy.deepcopy(chat.chat),
                    "from": copy.deepcopy(by),
                    "date": now(),
                    "old_chat_member": chat_member(self.bot_user, old_status),
                    "new_chat_member": chat_member(self.bot_user, new_status),
                }
            }
        )

    # -- updates and callback queries ------------------------------------------------------------

    def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = self.updates.push(payload)
        self.signal.notify()
        return update

    def new_callback_query(
        self, chat: ChatState, stored: StoredMessage, user: dict[str, Any], data: str
    ) -> str:
        """Create a callback query for a button press, queue its update, return the query id."""
        query_id = str(next(self._query_ids))
        self.callback_queries[query_id] = CallbackQueryState(
            query_id, chat.id, stored.message_id, int(user["id"]), data
        )
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": copy.deepcopy(user),
                    "message": copy.deepcopy(stored.api),
                    "chat_instance": str(abs(hash((self.bot_id, chat.id))) % 10**18),
                    "data": data,
                }
            }
        )
        return query_id
