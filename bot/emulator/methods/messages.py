"""Text messages: send, edit, delete, copy, forward, pin; callback answers; chat actions."""

from __future__ import annotations

import copy
from typing import Any

from ..core import EmulatorCore
from ..errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request
from ..formatting import ParsedText, check_caption, check_message_text, parse_text
from ..markup import validate_reply_markup
from ..params import Params
from ..registry import api_method
from ..state import ChatState, StoredMessage, now

MEDIA_KEYS = (
    "document",
    "photo",
    "voice",
    "sticker",
    "audio",
    "video",
    "animation",
    "video_note",
    "contact",
    "location",
    "venue",
    "poll",
    "dice",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MAX_CALLBACK_ANSWER = 200


# -- shared helpers (also used by the media methods) -----------------------------------------------


def text_fields(parsed: ParsedText, *, caption: bool = False) -> dict[str, Any]:
    """``text``/``entities`` (or ``caption``/``caption_entities``) of a Message object."""
    key, entities_key = ("caption", "caption_entities") if caption else ("text", "entities")
    fields: dict[str, Any] = {key: parsed.plain}
    if parsed.entities:
        fields[entities_key] = copy.deepcopy(parsed.entities)
    return fields


def parsed_caption(p: Params) -> ParsedText | None:
    """The caption after parse_mode, validated against the 1024-character limit."""
    caption = p.get_str("caption")
    if caption is None:
        return None
    parsed = parse_text(caption, p.get_str("parse_mode"), p.get("caption_entities"))
    check_caption(parsed)
    return parsed if parsed.plain else None


def reply_fields(chat: ChatState, p: Params) -> dict[str, Any]:
    """``reply_to_message`` from reply_parameters (or the legacy reply_to_message_id)."""
    params = p.get("reply_parameters") or {}
    message_id = params.get("message_id", p.get_int("reply_to_message_id"))
    if message_id is None:
        return {}
    allow_missing = params.get(
        "allow_sending_without_reply", p.get_bool("allow_sending_without_reply")
    )
    target = chat.find(int(message_id))
    if target is None:
        if allow_missing:
            return {}
        raise bad_request("message to be replied not found")
    replied = copy.deepcopy(target.api)
    replied.pop("reply_to_message", None)
    return {"reply_to_message": replied}


def remember_keyboard(chat: ChatState, markup: dict[str, Any] | None) -> None:
    """Custom reply keyboards persist in the client until replaced or removed."""
    if not markup:
        return
    if "keyboard" in markup:
        chat.reply_keyboard = copy.deepcopy(markup)
    elif markup.get("remove_keyboard"):
        chat.reply_keyboard = None


def inline_markup_only(p: Params) -> dict[str, Any] | None:
    """Edits accept only inline keyboards."""
    markup = validate_reply_markup(p.get("reply_markup"))
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def editable_message(core: EmulatorCore, p: Params) -> tuple[ChatState, StoredMessage]:
    """The bot's own message addressed by chat_id + message_id, or "message to edit not found".

    Inline-mode messages (``inline_message_id``) are not emulated.
    """
    if "inline_message_id" in p:
        raise bad_request("message to edit not found")
    chat = core.writable_chat(p.require("chat_id"))
    stored = chat.find(p.require_int("message_id"))
    if stored is None or not stored.from_bot:
        raise bad_request("message to edit not found")
    return chat, stored


def finish_edit(
    core: EmulatorCore,
    chat: ChatState,
    stored: StoredMessage,
    updated: dict[str, Any],
    *,
    raw_text: str | None,
    parse_mode: str | None,
    reply_markup: dict[str, Any] | None,
) -> dict[str, Any]:
    """Apply an edit unless it changes nothing (Telegram's "message is not modified")."""
    if _comparable(updated) == _comparable(stored.api):
        raise ApiError(400, NOT_MODIFIED)
    updated["edit_date"] = max(now(), stored.api["date"])
    stored.api = updated
    stored.raw_text, stored.parse_mode = raw_text, parse_mode
    stored.reply_markup = copy.deepcopy(reply_markup)
    core.record_event(chat, stored, edited=True)
    return copy.deepcopy(updated)


def _comparable(api: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in api.items() if key != "edit_date"}


def with_markup(api: dict[str, Any], markup: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of a Message whose reply_markup is replaced (an edit without one removes it)."""
    updated = copy.deepcopy(api)
    updated.pop("edit_date", None)
    updated.pop("reply_markup", None)
    if markup:
        updated["reply_markup"] = copy.deepcopy(markup)
    return updated


# -- sending ---------------------------------------------------------------------------------------


@api_method("sendMessage")
async def send_message(core: EmulatorCore, p: Params) -> dict[str, Any]:
    chat = core.writable_chat(p.require("chat_id"))
    text = p.get_str("text", "") or ""
    parsed = parse_text(text, p.get_str("parse_mode"), p.get("entities"))
    check_message_text(parsed)
    markup = validate_reply_markup(p.get("reply_markup"))
    content = {**text_fields(parsed), **reply_fields(chat, p)}
    if "link_preview_options" in p:
        content["link_preview_options"] = p.get("link_preview_options")
    stored = core.store_bot_message(
        chat,
        content,
        method="sendMessage",
        raw_text=text,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
    )
    remember_keyboard(chat, markup)
    return copy.deepcopy(stored.api)


@api_method("copyMessage")
async def copy_message(core: EmulatorCore, p: Params) -> dict[str, int]:
    """A new bot message with the source's content (no "forwarded from" header)."""
    source = _source_message(core, p, "copy")
    chat = core.writable_chat(p.require("chat_id"))
    content = _copied_content(source)
    raw_text, parse_mode = source.raw_text, source.parse_mode
    if "caption" in p and "text" not in content:  # a new caption replaces the media's own
        caption = parsed_caption(p)
        content.pop("caption", None)
        content.pop("caption_entities", None)
        if caption is not None:
            content.update(text_fields(caption, caption=True))
        raw_text, parse_mode = p.get_str("caption"), p.get_str("parse_mode")
    markup = validate_reply_markup(p.get("reply_markup"))
    stored = core.store_bot_message(
        chat,
        {**content, **reply_fields(chat, p)},
        method="copyMessage",
        raw_text=raw_text,
        parse_mode=parse_mode,
        reply_markup=markup,
        files=list(source.files),
    )
    remember_keyboard(chat, markup)
    return {"message_id": stored.message_id}


@api_method("forwardMessage")
async def forward_message(core: EmulatorCore, p: Params) -> dict[str, Any]:
    source = _source_message(core, p, "forward")
    chat = core.writable_chat(p.require("chat_id"))
    content = _copied_content(source)
    content["forward_origin"] = {
        "type": "user",
        "sender_user": copy.deepcopy(source.api.get("from", core.bot_user)),
        "date": source.api["date"],
    }
    stored = core.store_bot_message(
        chat,
        content,
        method="forwardMessage",
        raw_text=source.raw_text,
        parse_mode=source.parse_mode,
        files=list(source.files),
    )
    return copy.deepcopy(stored.api)


def _source_message(core: EmulatorCore, p: Params, verb: str) -> StoredMessage:
    from_chat = core.chat(p.require("from_chat_id"))
    source = from_chat.find(p.require_int("message_id"))
    if source is None:
        raise bad_request(f"message to {verb} not found")
    return source


def _copied_content(source: StoredMessage) -> dict[str, Any]:
    keys = ("text", "entities", "caption", "caption_entities", *MEDIA_KEYS)
    content = {key: copy.deepcopy(source.api[key]) for key in keys if key in source.api}
    if not any(key in content for key in ("text", *MEDIA_KEYS)):
        raise bad_request("message can't be copied")
    return content


# -- editing and deleting --------------------------------------------------------------------------


@api_method("editMessageText")
async def edit_message_text(core: EmulatorCore, p: Params) -> dict[str, Any]:
    chat, stored = editable_message(core, p)
    if "text" not in stored.api:
        raise bad_request("there is no text in the message to edit")
    text = p.get_str("text", "") or ""
    parsed = parse_text(text, p.get_str("parse_mode"), p.get("entities"))
    check_message_text(parsed)
    markup = inline_markup_only(p)
    updated = with_markup(stored.api, markup)
    updated.pop("entities", None)
    updated.update(text_fields(parsed))
    return finish_edit(
        core,
        chat,
        stored,
        updated,
        raw_text=text,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
    )


@api_method("editMessageCaption")
async def edit_message_caption(core: EmulatorCore, p: Params) -> dict[str, Any]:
    chat, stored = editable_message(core, p)
    if "text" in stored.api:
        raise bad_request("there is no caption in the message to edit")
    parsed = parsed_caption(p)
    markup = inline_markup_only(p)
    updated = with_markup(stored.api, markup)
    updated.pop("caption", None)
    updated.pop("caption_entities", None)
    if parsed is not None:
        updated.update(text_fields(parsed, caption=True))
    return finish_edit(
        core,
        chat,
        stored,
        updated,
        raw_text=p.get_str("caption"),
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
    )


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(core: EmulatorCore, p: Params) -> dict[str, Any]:
    chat, stored = editable_message(core, p)
    markup = inline_markup_only(p)
    return finish_edit(
        core,
        chat,
        stored,
        with_markup(stored.api, markup),
        raw_text=stored.raw_text,
        parse_mode=stored.parse_mode,
        reply_markup=markup,
    )


@api_method("deleteMessage")
async def delete_message(core: EmulatorCore, p: Params) -> bool:
    chat = core.writable_chat(p.require("chat_id"))
    stored = chat.find(p.require_int("message_id"))
    if stored is None:
        raise bad_request("message to delete not found")
    stored.deleted = True
    core.signal.notify()
    return True


@api_method("deleteMessages")
async def delete_messages(core: EmulatorCore, p: Params) -> bool:
    """Deletes what exists; Telegram silently skips ids that are gone."""
    chat = core.writable_chat(p.require("chat_id"))
    ids = p.require("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must contain 1-100 identifiers")
    for message_id in ids:
        stored = chat.find(int(message_id))
        if stored is not None:
            stored.deleted = True
    core.signal.notify()
    return True


@api_method("pinChatMessage")
async def pin_chat_message(core: EmulatorCore, p: Params) -> bool:
    chat = core.writable_chat(p.require("chat_id"))
    message_id = p.require_int("message_id")
    if chat.find(message_id) is None:
        raise bad_request("message to pin not found")
    chat.pinned.append(message_id)
    return True


@api_method("unpinChatMessage", "unpinAllChatMessages")
async def unpin_chat_message(core: EmulatorCore, p: Params) -> bool:
    chat = core.writable_chat(p.require("chat_id"))
    message_id = p.get_int("message_id")
    if message_id is None:
        chat.pinned.clear()
    elif message_id in chat.pinned:
        chat.pinned.remove(message_id)
    return True


# -- callback queries and chat actions -------------------------------------------------------------


@api_method("answerCallbackQuery")
async def answer_callback_query(core: EmulatorCore, p: Params) -> bool:
    """Each query can be answered once; unknown or re-answered ids get "query is too old"."""
    query = core.callback_queries.get(str(p.require("callback_query_id")))
    if query is None or query.answer is not None:
        raise ApiError(400, QUERY_TOO_OLD)
    text = p.get_str("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = {
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time", 0),
    }
    core.signal.notify()
    return True


@api_method("sendChatAction")
async def send_chat_action(core: EmulatorCore, p: Params) -> bool:
    core.writable_chat(p.require("chat_id"))
    if p.get_str("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True
