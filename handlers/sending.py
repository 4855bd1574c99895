"""Sending a service's Outcome to Telegram: render, answer the button, edit or send.

Every call that sends or changes a message goes through one retry policy, `with_retries`:
a 429 is waited out for as long as Telegram asks, a 5xx answer, a timeout or a dropped
connection is retried after the pauses in `SEND_RETRY_DELAYS`, and a 403 or 400 is final
(retrying cannot change it). Replies to a user's own update, messages to other people, relayed
messages and scheduled sends (reminders, broadcasts) all use it. Replies go first in the bot's
send limiter (bot/send_limiter.py); scheduled sends are marked bulk and take what replies leave.

Delivery is *at least once*: when Telegram has processed a message but its answer is lost (the
connection dropped or timed out after the message went out), the retry sends it again and the
user sees it twice. Nothing tells these cases apart from a message that never arrived, and a
reply seen twice is better than a reply lost. Scheduled sends are claimed in the database
before sending (see scheduler/reminders.py), so a *process* dying mid-send never repeats them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Literal, TypeVar

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
from bot.send_limiter import BULK
from bot.services.replies import AnyReply, CopyReply, Outcome
from handlers.menus import set_chat_menu
from scheduler.core import DeliveryStatus

log = logging.getLogger(__name__)
T = TypeVar("T")
SendStatus = Literal["sent", "blocked", "absent", "failed"]


def markup(rows: ButtonRows) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


# ---- the retry policy ---------------------------------------------------------------------------


async def with_retries(send: Callable[[], Awaitable[T]], delays: Sequence[float]) -> T:
    """Call `send` until it succeeds: once, then once more after each pause in `delays`.

    A 429 waits `retry_after` instead of the pause (the send limiter, bot/send_limiter.py, has
    already retried it a few times); network errors, timeouts and 5xx answers (NetworkError)
    wait the pause. Forbidden (403) and BadRequest (400) are raised at once, as is the last
    error when the pauses are used up.
    """
    pauses = list(delays)
    while True:
        try:
            return await send()
        except (Forbidden, BadRequest):  # BadRequest is a NetworkError: caught before it
            raise
        except RetryAfter as exc:
            if not pauses:
                raise
            pauses.pop(0)
            wait = _seconds(exc.retry_after)
        except NetworkError as exc:  # TimedOut, 5xx, a dropped connection
            if not pauses:
                raise
            wait = pauses.pop(0)
            log.info("sending failed (%s); retrying in %.1f s", exc, wait)
        await asyncio.sleep(wait)


async def attempt(
    send: Callable[[], Awaitable[T]], delays: Sequence[float]
) -> tuple[SendStatus, T | None]:
    """`with_retries` for callers that record the outcome instead of raising: ("sent", result),
    ("blocked", None) for a user who blocked the bot (403), ("absent", None) for a chat the bot
    never had ("chat not found"), ("failed", None) when retrying did not help or Telegram
    refused the message."""
    try:
        return "sent", await with_retries(send, delays)
    except Forbidden:
        return "blocked", None
    except BadRequest as exc:
        if _chat_not_found(exc):
            return "absent", None
        log.warning("message refused: %s", exc.message)
        return "failed", None
    except (NetworkError, RetryAfter) as exc:
        log.warning("message not delivered after retries: %s", exc)
        return "failed", None


def retry_delays(runtime: Runtime) -> tuple[float, ...]:
    return runtime.settings.send_retry_delays


# ---- answering an update ------------------------------------------------------------------------


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome) -> None:
    """Answer the pressed button (if any) with the notice, then send or edit each reply."""
    runtime = runtime_of(context.bot_data)
    query = update.callback_query
    if query is not None:
        notice = runtime.renderer.notice(outcome.notice) if outcome.notice else None
        await _answer_query(query, notice, outcome.notice_alert, runtime)
    chat = update.effective_chat
    try:
        if chat is not None:
            await _send_replies(update, context, outcome, chat.id)
    finally:
        # The change is stored already: a reply that could not be sent must not leave a
        # changed role's menu or a moved deadline's schedule as they were.
        for user_id in outcome.menus:
            await set_chat_menu(context.bot, runtime, user_id)
        if outcome.rebuild and runtime.scheduler is not None:
            for kind in outcome.rebuild:
                await runtime.scheduler.rebuild(kind)


async def _send_replies(
    update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome, chat_id: int
) -> None:
    runtime = runtime_of(context.bot_data)
    query = update.callback_query
    for reply in outcome.replies:
        if isinstance(reply, CopyReply):
            await relay(context.bot, runtime, update, reply)
            continue
        for message in runtime.renderer.render_any(reply):
            editable = message.edit and message.to is None and query is not None
            if editable and await _edit_pressed(query, message, context.bot, runtime):
                continue
            if message.to is None or message.to == chat_id:
                await with_retries(
                    lambda m=message: send_rendered(context.bot, chat_id, m), retry_delays(runtime)
                )
            else:
                await send_to_other(context.bot, runtime, message.to, message)


async def _answer_query(
    query: CallbackQuery, notice: str | None, alert: bool, runtime: Runtime
) -> None:
    """The toast under a pressed button. Losing it must not lose the replies after it, and
    Telegram refuses answers to queries older than about 15 s: a failure is logged only."""
    try:
        await with_retries(lambda: query.answer(notice, show_alert=alert), retry_delays(runtime))
    except (NetworkError, RetryAfter) as exc:  # BadRequest included
        log.info("callback query %s not answered: %s", query.id, exc)


async def send_to_other(bot: Bot, runtime: Runtime, chat_id: int, message: Rendered) -> bool:
    """A message to someone other than the sender: a block (403) marks them unreachable, and
    neither it nor a final network failure fails the sender's action."""
    try:
        await with_retries(lambda: send_rendered(bot, chat_id, message), retry_delays(runtime))
    except Forbidden:
        log.info("user %s has blocked the bot; marked unreachable", chat_id)
        await runtime.call(runtime.dialog.set_reachable, chat_id, False)
        return False
    except BadRequest as exc:
        if not _chat_not_found(exc):
            raise  # our mistake (bad HTML, too long): reported to the admins
        log.info("chat %s not found; message to it skipped", chat_id)
        return False
    except (NetworkError, RetryAfter) as exc:
        log.warning("message to %s not delivered after retries: %s", chat_id, exc)
        return False
    return True


async def relay(bot: Bot, runtime: Runtime, update: Update, reply: CopyReply) -> None:
    """Copy a user's message to the other side of a conversation, header first, retrying
    passing failures; the service records the outcome and may tell the sender."""
    incoming = update.effective_message
    from_chat = reply.from_chat_id or (incoming.chat_id if incoming else 0)
    source_id = reply.message_id or (incoming.message_id if incoming else 0)
    delays = retry_delays(runtime)
    status: SendStatus = "sent"
    copied, headed = None, None
    if reply.header is not None:
        header = runtime.renderer.render(reply.header)
        status, headed = await attempt(lambda: send_rendered(bot, reply.to, header), delays)
    if status == "sent":
        thread = (
            ReplyParameters(reply.reply_to_message_id, allow_sending_without_reply=True)
            if reply.reply_to_message_id
            else None
        )
        status, copied = await attempt(
            lambda: bot.copy_message(reply.to, from_chat, source_id, reply_parameters=thread),
            delays,
        )
    if status in ("blocked", "absent"):
        status = "blocked"
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
                await with_retries(
                    lambda m=message: send_rendered(bot, from_chat, m), retry_delays(runtime)
                )
            else:
                await send_to_other(bot, runtime, message.to, message)


async def send_rendered(
    bot: Bot, chat_id: int, message: Rendered, *, bulk: bool = False, paid: bool = False
) -> Message:
    """One attempt at sending a rendered message; callers wrap it in the retry policy.

    A `bulk` send (scheduled, not a reply) waits behind every reply in the bot's send limiter
    (bot/send_limiter.py); `paid` makes it one of Telegram's paid broadcasts."""
    extra = _bulk_args(bot, paid) if bulk else {}
    if message.document is not None:
        filename, content = message.document
        return await bot.send_document(
            chat_id,
            document=content,
            filename=filename,
            caption=message.text or None,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(message.buttons),
            **extra,
        )
    return await bot.send_message(
        chat_id,
        message.text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup(message.buttons),
        **extra,
    )


def _bulk_args(bot: Bot, paid: bool) -> dict[str, object]:
    # rate_limit_args exists only on a bot with a rate limiter (the Application's ExtBot).
    extra: dict[str, object] = (
        {"rate_limit_args": BULK} if getattr(bot, "rate_limiter", None) else {}
    )
    if paid:
        extra["allow_paid_broadcast"] = True
    return extra


async def _edit_pressed(
    query: CallbackQuery, message: Rendered, bot: Bot, runtime: Runtime
) -> bool:
    # A document's caption is not its text: pressing a button under a document sends anew.
    if query.message is None or getattr(query.message, "text", None) is None:
        return False
    return await _edit(query.message.message_id, query.message.chat.id, message, bot, runtime)


async def _edit(
    message_id: int, chat_id: int, message: Rendered, bot: Bot, runtime: Runtime
) -> bool:
    """Edit in place; False when Telegram refuses (too old, deleted) so the caller sends anew.
    An edit repeated after a lost answer is harmless: Telegram says "not modified"."""
    try:
        await with_retries(
            lambda: bot.edit_message_text(
                message.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(message.buttons),
            ),
            retry_delays(runtime),
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return True
        log.info("edit of message %s refused (%s); sending a new one", message_id, exc.message)
        return False
    return True


# ---- sending outside an update ------------------------------------------------------------------


async def send_reply(
    bot: Bot, runtime: Runtime, chat_id: int, reply: AnyReply, *, bulk: bool = True
) -> DeliveryStatus:
    """Send one reply to one chat outside an update (reminders, broadcasts, notifications).

    A bulk send (unless `bulk=False`: an answer to the user's own act, e.g. the flood notice):
    it waits behind every reply to a user in the send limiter. Retried like every
    send; a 403 marks the user unreachable. The caller records the status,
    and a "failed" one is tried again at a later wake-up.
    """
    paid = runtime.settings.allow_paid_broadcast
    for message in runtime.renderer.render_any(reply):
        status, _ = await attempt(
            lambda m=message: send_rendered(bot, chat_id, m, bulk=bulk, paid=paid and bulk),
            retry_delays(runtime),
        )
        if status == "blocked":
            await runtime.call(runtime.dialog.set_reachable, chat_id, False)
        if status != "sent":
            return "failed" if status == "failed" else "blocked"
    return "delivered"


def _chat_not_found(exc: BadRequest) -> bool:
    # An admin or mentor who never opened a chat with the bot: not the sender's fault.
    return "chat not found" in exc.message.lower()


def _seconds(retry_after: int | float | timedelta) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
