"""The record of every API call the bot made, for assertions in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Methods whose calls show what a chat saw (used by ``BotApiEmulator.sent_to``).
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "sendDocument",
        "sendPhoto",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass
class ApiCall:
    """One request to the emulator and its answer.

    ``params`` are the decoded parameters (uploads appear as :class:`UploadedFile`);
    ``chat_id`` is the numeric id the call addressed (``@username`` resolved), if any.
    ``error_code`` is None both for successes and for injected disconnects (no answer at all).
    """

    method: str
    params: dict[str, Any]
    ok: bool = False
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    at: float = 0.0
    chat_id: int | None = None

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        return f"ApiCall({self.method} chat={self.chat_id} -> {outcome})"
