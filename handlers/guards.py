"""Checks every update passes before any feature handler sees it (handler group -1)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.runtime import runtime_of
from bot.services.dialog import UpdateMark
from bot.services.replies import Reply
from handlers.sending import send_reply


def update_mark(update: Update) -> UpdateMark:
    """What the Dialog entry point records with the update's change (see Dialog._session)."""
    return UpdateMark(update.update_id, update_fingerprint(update))


def update_fingerprint(update: Update) -> str:
    """A digest of everything in the update but its id. A redelivery carries the same content;
    a new update reusing an id (a restarted emulator numbers from 1 again, Telegram picks a
    random id after a quiet week) differs at least in its message id, date or query id."""
    content = {k: v for k, v in update.to_dict().items() if k != "update_id"}
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


async def private_chats_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drafts are personal: in groups the bot only says that it works in private chat."""
    chat = update.effective_chat
    if chat is None:
        return
    if chat.type == ChatType.PRIVATE:
        await _track_block(update, context)
        return
    runtime = runtime_of(context.bot_data)
    if update.callback_query is not None:
        await update.callback_query.answer(runtime.renderer.notice("private_only"), show_alert=True)
    elif _addressed_to_bot(update, context.bot.id, context.bot.username):
        text = runtime.renderer.text(
            "common/group_only_private", {"bot_username": context.bot.username}
        )
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
    raise ApplicationHandlerStop


def _addressed_to_bot(update: Update, bot_id: int, username: str) -> bool:
    """The bot was just added, or a member wrote a command or mentioned it."""
    member = update.my_chat_member
    if member is not None:
        return member.new_chat_member.status in ("member", "administrator")
    message = update.effective_message
    if message is None:
        return False
    if message.new_chat_members:
        return False  # the bot's own joining arrives as my_chat_member, answered above
    text = message.text or ""
    return text.startswith("/") or f"@{username}".lower() in text.lower()


async def _track_block(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user blocking or unblocking the bot in private chat: remembered for fan-outs."""
    member = update.my_chat_member
    if member is None:
        return
    runtime = runtime_of(context.bot_data)
    reachable = member.new_chat_member.status not in ("kicked", "left")
    await runtime.call(runtime.dialog.set_reachable, member.chat.id, reachable)
    raise ApplicationHandlerStop


def flood_notice(application: Application) -> Callable[[int], Awaitable[None]]:
    """How flood control (bot/flood.py) tells a user, once per flood episode, that their
    excess messages were not handled and when to send again."""

    async def tell(chat_id: int) -> None:
        runtime = runtime_of(application.bot_data)
        settings = runtime.settings
        seconds = math.ceil(settings.flood_burst / settings.flood_rate_per_second)
        notice = Reply("common/flood_notice", {"seconds": seconds})
        # An answer to what the user just did, not a bulk send: it goes before any fan-out.
        await send_reply(application.bot, runtime, chat_id, notice, bulk=False)

    return tell


def flood_dismissal(application: Application) -> Callable[[str], Awaitable[None]]:
    """How flood control answers a button press it turns away: a short toast, so the user's
    app stops waiting on the button (the flood notice itself comes once, as a message)."""

    async def dismiss(query_id: str) -> None:
        runtime = runtime_of(application.bot_data)
        await application.bot.answer_callback_query(query_id, runtime.renderer.notice("flood"))

    return dismiss
