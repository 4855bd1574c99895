"""Validation of ``reply_markup`` as Telegram performs it.

The checks that bite real bots are here: ``callback_data`` is limited to 64 *bytes*, every inline
button needs exactly one action, and a keyboard has at most 100 buttons.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Check a decoded ``reply_markup`` and return it; raise 400 the way Telegram does."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_reply_keyboard(markup["keyboard"])
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _rows(rows: Any, field: str) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _validate_inline_keyboard(rows: Any) -> None:
    for row in _rows(rows, "inline_keyboard"):
        for button in row:
            validate_inline_button(button)


def validate_inline_button(button: Any) -> None:
    """One inline button: non-empty text and exactly one action; callback_data 1–64 bytes."""
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [name for name in INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used, "
            f"found {', '.join(actions)}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _plausible_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")


def _plausible_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    return url.startswith(("http://", "https://", "tg://")) or "." in url


def _validate_reply_keyboard(rows: Any) -> None:
    for row in _rows(rows, "keyboard"):
        for button in row:
            text = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(text, str) or not text:
                raise bad_request("can't parse keyboard button: Text must be non-empty")


def inline_buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    """The inline keyboard rows of a markup, or an empty list for any other kind."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard")
    return rows if isinstance(rows, list) else []
