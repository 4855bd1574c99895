"""The last resort: log an unhandled error and tell the user, politely, nothing was lost."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.runtime import runtime_of

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(update, Update):
        user = update.effective_user
        log.error(
            "error handling update %s from user %s: %r",
            update.update_id,
            user.id if user else None,
            error,
            exc_info=error,
        )
    else:
        log.error("error outside an update: %r", error, exc_info=error)
    if not isinstance(update, Update) or isinstance(error, Forbidden | NetworkError):
        return
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    runtime = runtime_of(context.bot_data)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(runtime.renderer.notice("error"), show_alert=True)
        await context.bot.send_message(
            chat.id, runtime.renderer.text("common/error"), parse_mode=ParseMode.HTML
        )
    except Exception:
        log.warning("could not tell user about the error", exc_info=True)
