"""The last resort: log an unhandled error with its context, tell the user politely that
nothing was lost, and report it to the admins at most once per kind per 10 minutes."""

from __future__ import annotations

import logging
import time
import traceback
from datetime import timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.logsafety import mask
from bot.runtime import runtime_of
from bot.services.dialog import AlreadyRecorded, is_passing_failure
from bot.update_processor import defer_current_update

log = logging.getLogger(__name__)
REPORT_INTERVAL_SECONDS = 600
# Error kind -> when this process last reported it (or learnt another process had); it saves
# a database round trip for a repeated error and decides alone when the database is down.
_last_reported: dict[str, float] = {}


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, AlreadyRecorded):
        return  # a duplicate delivery handled elsewhere meanwhile: nothing was changed
    kind = error_kind(error)
    if isinstance(update, Update) and is_passing_failure(error):
        attempt = defer_current_update()
        if attempt is not None:
            await _deferred(update, context, kind, error, attempt)
    if isinstance(update, Update):
        # The update's shape, never the user's text: that stays out of the logs.
        log.error(
            "error %s handling update %s (%s) from user %s",
            kind,
            update.update_id,
            _update_type(update),
            update.effective_user.id if update.effective_user else None,
            exc_info=error,
        )
    else:
        log.error("error %s outside an update", kind, exc_info=error)
    if isinstance(error, Forbidden | NetworkError):
        return
    await _report_to_admins(context, kind, error)
    if isinstance(update, Update):
        await _tell_user(update, context)


async def _deferred(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    kind: str,
    error: BaseException | None,
    attempt: int,
) -> None:
    """The database is away for a moment: the update is not confirmed to Telegram but handled
    again later (bot/update_processor.py), so the user's answer is not lost. The user is told
    once that it will be processed; the rest of this attempt's handlers are skipped."""
    user_id = update.effective_user.id if update.effective_user else None
    if attempt == 1:
        log.error(
            "error %s handling update %s (%s) from user %s; it will be handled again",
            kind,
            update.update_id,
            _update_type(update),
            user_id,
            exc_info=error,
        )
        await _report_to_admins(context, kind, error)
        await _tell_user(update, context, retrying=True)
    else:
        log.warning("update %s failed again (%s, attempt %d)", update.update_id, kind, attempt)
    raise ApplicationHandlerStop


def error_kind(error: BaseException | None) -> str:
    """Exception type and the innermost frame of our code: the same bug is one kind."""
    if error is None:
        return "unknown"
    frames = traceback.extract_tb(error.__traceback__)
    # Not library frames, nor code generated at run time ("<sqlalchemy generated ...>").
    ours = [f for f in frames if "/site-packages/" not in f.filename and f.filename[:1] != "<"]
    where = f"{ours[-1].filename.rsplit('/', 1)[-1]}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__}@{where}"


async def _report_to_admins(
    context: ContextTypes.DEFAULT_TYPE, kind: str, error: BaseException | None
) -> None:
    now = time.monotonic()
    if now - _last_reported.get(kind, -REPORT_INTERVAL_SECONDS) < REPORT_INTERVAL_SECONDS:
        return
    _last_reported[kind] = now
    runtime = runtime_of(context.bot_data)
    # Every process shares the record, so several processes still report a kind only once.
    interval = timedelta(seconds=REPORT_INTERVAL_SECONDS)
    try:
        if not await runtime.call(runtime.dialog.claim_error_report, kind, interval):
            return
    except Exception:  # the database may be what failed: this process's record decides
        log.warning("error report not recorded in the database", exc_info=True)
    text = runtime.renderer.text(
        "common/admin_error_report", {"kind": kind, "message": mask(str(error))[:300]}
    )
    for admin_id in runtime.settings.admin_ids:
        try:
            await context.bot.send_message(admin_id, text, parse_mode=ParseMode.HTML)
        except Exception:  # a report must never raise again
            log.warning("could not report the error to admin %s", admin_id)


async def _tell_user(
    update: Update, context: ContextTypes.DEFAULT_TYPE, retrying: bool = False
) -> None:
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    runtime = runtime_of(context.bot_data)
    notice, template = (
        ("error_retrying", "common/error_retrying") if retrying else ("error", "common/error")
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(runtime.renderer.notice(notice), show_alert=True)
        await context.bot.send_message(
            chat.id, runtime.renderer.text(template), parse_mode=ParseMode.HTML
        )
    except Exception:  # telling the user must never raise again
        log.warning("could not tell user about the error", exc_info=True)


def _update_type(update: Update) -> str:
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"
