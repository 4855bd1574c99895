"""Private-chat messages and button presses, translated into Dialog calls."""

from __future__ import annotations

from functools import partial

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.runtime import runtime_of
from bot.services.dialog import AlreadyRecorded
from bot.services.feature import Media
from handlers.guards import update_mark
from handlers.sending import deliver, retry_delays, with_retries

NON_TEXT_KINDS = (
    "photo",
    "sticker",
    "voice",
    "video",
    "document",
    "audio",
    "animation",
    "video_note",
    "location",
    "contact",
    "poll",
)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.text:
        return
    name, args = parse_command(message.text, context.bot.username)
    await _answer(update, context, user.id, "command", name, args)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.text is None:
        return
    await _answer(update, context, user.id, "text", message.text)


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    await _answer(update, context, user.id, "non_text", media_of(message))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message does not change a stored answer; say how to change it instead."""
    chat = update.effective_chat
    if chat is None:
        return
    runtime = runtime_of(context.bot_data)
    text = runtime.renderer.text("common/edited_message")
    await with_retries(
        lambda: context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML),
        retry_delays(runtime),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    await _answer(update, context, query.from_user.id, "callback", query.data or "")


async def _answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user_id: int, entry: str, *args: object
) -> None:
    """Run one Dialog entry point for the update and send what it says.

    An update handled before (Telegram redelivers one whose handling a crash or a slow answer
    left unconfirmed) changes nothing again, but what it sent may never have gone out: see
    Dialog.redelivered."""
    runtime = runtime_of(context.bot_data)
    try:
        # The update's id goes with its change, in the entry point's one transaction.
        call = partial(getattr(runtime.dialog, entry), mark=update_mark(update))
        outcome = await runtime.call(call, user_id, *args)
    except AlreadyRecorded:
        message = update.effective_message if update.callback_query is None else None
        message_id = message.message_id if message is not None else None
        outcome = await runtime.call(runtime.dialog.redelivered, user_id, entry, args, message_id)
    await deliver(update, context, outcome)


def parse_command(text: str, bot_username: str) -> tuple[str, str]:
    """ "/Draf@klinik_bot 12" -> ("draf", "12"); a command for another bot keeps its suffix."""
    head, _, args = text.strip().partition(" ")
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        name = f"{name}@{addressee}"
    return name.lower(), args.strip()


def message_kind(message: Message) -> str:
    return next((kind for kind in NON_TEXT_KINDS if getattr(message, kind, None)), "other")


def media_of(message: Message) -> Media:
    """The domain's view of a non-text message (files are relayed by id, never downloaded)."""
    kind = message_kind(message)
    attachment = message.photo[-1] if message.photo else getattr(message, kind, None)
    return Media(
        kind=kind,
        file_id=getattr(attachment, "file_id", None),
        caption=message.caption,
        chat_id=message.chat_id,
        message_id=message.message_id,
        file_name=getattr(attachment, "file_name", None),
    )
