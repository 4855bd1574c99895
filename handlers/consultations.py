"""Relayed consultation conversations: a Telegram reply to a relayed message speaks in that
message's consultation (threaded under its counterpart), and an edit of a relayed message is
applied to its copy. The pairs of message ids live in the database, so this works after a
restart too.

Runs in its own handler group before the feature handlers; a reply that belongs to no
conversation passes through untouched.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from bot.runtime import runtime_of

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE


def handlers() -> list[MessageHandler]:
    return [
        MessageHandler(
            PRIVATE & filters.UpdateType.MESSAGE & filters.REPLY & ~filters.COMMAND, route_reply
        ),
        MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, relay_edit),
    ]


async def route_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point the user's conversation at the consultation of the message they replied to."""
    message, user = update.message, update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    runtime = runtime_of(context.bot_data)
    await runtime.call(runtime.dialog.reply_to, user.id, message.reply_to_message.message_id)


async def relay_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited relayed message: the copy on the other side is edited the same way."""
    message, user = update.edited_message, update.effective_user
    if message is None or user is None:
        return
    runtime = runtime_of(context.bot_data)
    copies = await runtime.call(runtime.dialog.edited_copies, user.id, message.message_id)
    if not copies:
        return
    for chat_id, message_id in copies:
        try:
            if message.text is not None:
                await context.bot.edit_message_text(
                    message.text_html,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                )
            elif message.caption is not None:
                await context.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=message.caption_html,
                    parse_mode=ParseMode.HTML,
                )
        except (BadRequest, Forbidden) as exc:
            log.info("edit of relayed message %s in %s refused: %s", message_id, chat_id, exc)
    raise ApplicationHandlerStop
