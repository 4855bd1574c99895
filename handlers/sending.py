"""Sending a service's Outcome to Telegram: render, answer the button, edit or send."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.rendering import ButtonRows, Rendered
from bot.runtime import runtime_of
from bot.services.replies import Outcome

log = logging.getLogger(__name__)


def markup(rows: ButtonRows) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome) -> None:
    """Answer the pressed button (if any) with the notice, then send or edit each reply."""
    runtime = runtime_of(context.bot_data)
    query = update.callback_query
    if query is not None:
        notice = runtime.renderer.notice(outcome.notice) if outcome.notice else None
        await query.answer(notice, show_alert=outcome.notice_alert)
    chat = update.effective_chat
    if chat is None:
        return
    for reply in outcome.replies:
        for message in runtime.renderer.render_any(reply):
            editable = message.edit and query is not None and query.message is not None
            if editable and await _edit(query.message.message_id, chat.id, message, context):
                continue
            await context.bot.send_message(
                chat.id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(message.buttons),
            )


async def _edit(
    message_id: int, chat_id: int, message: Rendered, context: ContextTypes.DEFAULT_TYPE
) -> bool:
    """Edit in place; False when Telegram refuses (too old, deleted) so the caller sends anew."""
    try:
        await context.bot.edit_message_text(
            message.text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(message.buttons),
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return True
        log.info("edit of message %s refused (%s); sending a new one", message_id, exc.message)
        return False
    return True
