"""Sending a service's Outcome to Telegram: render, answer the button, edit or send.

`send_rendered` is also what scheduled jobs use, so a reminder and a reply go out the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot.rendering import ButtonRows, Rendered
from bot.runtime import Runtime, runtime_of
from bot.services.replies import AnyReply, CopyReply, Outcome
from scheduler.core import DeliveryStatus

log = logging.getLogger(__name__)
# Pauses before retrying a relayed message that failed for a passing reason (network, 5xx).
RELAY_RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0, 8.0)


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
        if isinstance(reply, CopyReply):
            await relay(context.bot, runtime, update, reply)
            continue
        for message in runtime.renderer.render_any(reply):
            editable = message.edit and message.to is None and query is not None
            if editable and await _edit_pressed(query, message, context.bot):
                continue
            if message.to is None or message.to == chat.id:
                await send_rendered(context.bot, chat.id, message)
            else:
                await send_to_other(context.bot, runtime, message.to, message)
    if outcome.rebuild and runtime.scheduler is not None:
        for kind in outcome.rebuild:
            await runtime.scheduler.rebuild(kind)


async def send_to_other(bot: Bot, runtime: Runtime, chat_id: int, message: Rendered) -> bool:
    """A message to someone other than the sender: a block (403) marks them unreachable
    instead of failing the sender's action."""
    try:
        await send_rendered(bot, chat_id, message)
    except Forbidden:
        log.info("user %s has blocked the bot; marked unreachable", chat_id)
        await runtime.call(runtime.dialog.set_reachable, chat_id, False)
        return False
    except BadRequest as exc:
        # An admin or mentor who never opened a chat with the bot: skipped, not the sender's fault.
        if "chat not found" not in exc.message.lower():
            raise
        log.info("chat %s not found; message to it skipped", chat_id)
        return False
    return True


async def relay(bot: Bot, runtime: Runtime, update: Update, reply: CopyReply) -> None:
    """Copy a user's message to the other side of a conversation, header first, retrying
    passing failures; the service records the outcome and may tell the sender."""
    incoming = update.effective_message
    from_chat = reply.from_chat_id or (incoming.chat_id if incoming else 0)
    source_id = reply.message_id or (incoming.message_id if incoming else 0)
    status, copied, headed = "sent", None, None
    if reply.header is not None:
        header = runtime.renderer.render(reply.header)
        status, headed = await _relay_attempts(lambda: send_rendered(bot, reply.to, header))
    if status == "sent":
        thread = (
            ReplyParameters(reply.reply_to_message_id, allow_sending_without_reply=True)
            if reply.reply_to_message_id
            else None
        )
        status, copied = await _relay_attempts(
            lambda: bot.copy_message(reply.to, from_chat, source_id, reply_parameters=thread)
        )
    if status == "blocked":
        await runtime.call(runtime.dialog.set_reachable, reply.to, False)
    if reply.on_result is None:
        return
    copy_id = copied.message_id if copied is not None else None
    header_id = headed.message_id if headed is not None else None
    outcome = await runtime.call(reply.on_result, source_id, copy_id, status, header_id)
    for answer in outcome.replies if outcome else ():
        if isinstance(answer, CopyReply):
            continue
        for message in runtime.renderer.render_any(answer):
            if message.to is None or message.to == from_chat:
                await send_rendered(bot, from_chat, message)
            else:
                await send_to_other(bot, runtime, message.to, message)


async def _relay_attempts(send: Callable[[], Awaitable[Any]]) -> tuple[str, Any]:
    """("sent", result), or ("blocked" | "failed", None) once retrying is pointless."""
    for delay in (*RELAY_RETRY_DELAYS, None):
        try:
            return "sent", await send()
        except Forbidden:
            return "blocked", None
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return "blocked", None
            log.warning("relay refused: %s", exc.message)
            return "failed", None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            log.info("relay attempt failed (%s); retrying", exc)
            wait = delay or 0
        if delay is None:
            break
        await asyncio.sleep(min(wait, 30))
    return "failed", None


async def send_rendered(bot: Bot, chat_id: int, message: Rendered) -> Message:
    if message.document is not None:
        filename, content = message.document
        return await bot.send_document(
            chat_id,
            document=content,
            filename=filename,
            caption=message.text or None,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(message.buttons),
        )
    return await bot.send_message(
        chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=markup(message.buttons)
    )


async def _edit_pressed(query: CallbackQuery, message: Rendered, bot: Bot) -> bool:
    if query.message is None:
        return False
    return await _edit(query.message.message_id, query.message.chat.id, message, bot)


async def _edit(message_id: int, chat_id: int, message: Rendered, bot: Bot) -> bool:
    """Edit in place; False when Telegram refuses (too old, deleted) so the caller sends anew."""
    try:
        await bot.edit_message_text(
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


async def send_reply(
    bot: Bot, runtime: Runtime, chat_id: int, reply: AnyReply, attempts: int = 4
) -> DeliveryStatus:
    """Send one reply to one chat outside an update (reminders, broadcasts, notifications).

    429s are waited out (the rate limiter retries first), network errors retried with backoff,
    and a 403 marks the user unreachable: the caller records what happened.
    """
    for message in runtime.renderer.render_any(reply):
        status = await _send_with_retries(bot, runtime, chat_id, message, attempts)
        if status != "delivered":
            return status
    return "delivered"


async def _send_with_retries(
    bot: Bot, runtime: Runtime, chat_id: int, message: Rendered, attempts: int
) -> DeliveryStatus:
    for attempt in range(attempts):
        try:
            await send_rendered(bot, chat_id, message)
            return "delivered"
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
        except Forbidden:
            await runtime.call(runtime.dialog.set_reachable, chat_id, False)
            return "blocked"
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return "blocked"
            log.warning("message to %s refused: %s", chat_id, exc.message)
            return "failed"
        except NetworkError:  # includes TimedOut
            await asyncio.sleep(min(2**attempt, 10))
    return "failed"


def _seconds(retry_after: int | float | timedelta) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
