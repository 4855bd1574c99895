"""Decoding request parameters the way api.telegram.org does.

python-telegram-bot sends every parameter as a string: ``str`` values raw, everything else
JSON-encoded (``"1001"``, ``"true"``, ``'{"inline_keyboard": ...}'``), either form-urlencoded or,
when a file is uploaded, as multipart parts. Other clients send JSON bodies or query strings.
Telegram knows each parameter's type, so it can tell the text ``"123"`` from the integer 123; we do
the same with explicit name tables instead of guessing from the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
        "results",
        "permissions",
        "options",
        "explanation_entities",
        "menu_button",
        "rights",
        "prices",
        "reaction",
        "suggested_post_parameters",
    }
)
INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
        "user_id",
        "duration",
        "width",
        "height",
        "length",
        "max_connections",
        "until_date",
        "direct_messages_topic_id",
        "video_start_timestamp",
    }
)
BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "supports_streaming",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "only_if_banned",
        "revoke_messages",
        "remove_caption",
        "is_big",
    }
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (sendDocument, sendPhoto, ...)."""

    filename: str | None
    content_type: str | None
    content: bytes

    def __repr__(self) -> str:  # keep recorded calls readable: never dump the bytes
        return (
            f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={len(self.content)})"
        )


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn raw request values into typed values, keyed by parameter name."""
    return {name: decode_value(name, value) for name, value in raw.items()}


def decode_value(name: str, value: Any) -> Any:
    """Decode one parameter; already-typed values (from JSON bodies) pass through."""
    if not isinstance(value, str):
        return value
    if name in JSON_PARAMS:
        return _decode_json(name, value)
    if name in INT_PARAMS:
        return _decode_int(name, value)
    if name in BOOL_PARAMS:
        return _decode_bool(name, value)
    return value


def _decode_json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        if name == "reply_markup":
            raise bad_request("can't parse reply keyboard markup JSON object") from exc
        raise bad_request(f"can't parse {name} JSON object") from exc


def _decode_int(name: str, value: str) -> int | str:
    stripped = value.strip()
    try:
        return int(stripped)
    except ValueError:
        if name in ("chat_id", "from_chat_id"):
            return stripped  # "@channelusername" is allowed; resolved later
        raise bad_request(f"invalid {name} specified") from None


def _decode_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_request(f"invalid {name} specified")


class Params:
    """Typed, validating access to one call's decoded parameters."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def require(self, name: str) -> Any:
        """A parameter Telegram insists on; missing ones answer ``<name> is empty``."""
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        return value

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"invalid {name} specified")
        return value

    def require_int(self, name: str) -> int:
        self.require(name)
        value = self.get_int(name)
        assert value is not None
        return value

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, bool) else _decode_bool(name, str(value))
