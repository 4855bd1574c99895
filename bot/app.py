"""The composition root: the only place that sees every folder and wires them together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

import handlers
from bot.rendering import Renderer
from bot.runtime import BOT_DATA_KEY, Runtime, runtime_of
from bot.services.context import ServiceContext
from bot.services.features import build_dialog
from bot.services.formats import FormatRegistry, load_data_list
from bot.services.opd_admin import seed_default_opds
from bot.services.reminders import ReminderService
from bot.services.replies import AnyReply
from bot.settings import Settings
from handlers.sending import send_reply
from models.db import Database
from models.types import utcnow
from scheduler.core import DeliveryStatus, Scheduler
from scheduler.reminders import ReminderSource

log = logging.getLogger(__name__)
ALLOWED_UPDATES = Update.ALL_TYPES


def prepare_database(settings: Settings) -> Database:
    """Connect, migrate to the newest schema, and seed the default OPD list once."""
    database = Database(settings.database_url)
    database.migrate()
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
    return database


def build_runtime(
    settings: Settings, database: Database, clock: Callable[[], datetime] = utcnow
) -> Runtime:
    context = ServiceContext(
        db=database,
        formats=FormatRegistry.load(),
        tz=settings.tz,
        admin_ids=settings.admin_ids,
        region_name=settings.region_name,
        continuation_window_seconds=settings.continuation_window_seconds,
        reminder_offsets_days=settings.reminder_offsets_days,
        reminder_time=settings.reminder_time,
        reminder_grace=timedelta(hours=settings.reminder_grace_hours),
        clock=clock,
    )
    return Runtime(settings=settings, dialog=build_dialog(context), renderer=Renderer(settings.tz))


def build_application(
    settings: Settings, database: Database, clock: Callable[[], datetime] = utcnow
) -> Application:
    runtime = build_runtime(settings, database, clock)
    # The rate limiter keeps every request under the overall ceiling and waits out 429s.
    limiter = AIORateLimiter(
        overall_max_rate=settings.messages_per_second, overall_time_period=1, max_retries=3
    )
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.api_base_file_url)
        .rate_limiter(limiter)
        .post_init(_post_init)
        .build()
    )
    application.bot_data[BOT_DATA_KEY] = runtime
    handlers.register(application)
    return application


async def _post_init(application: Application) -> None:
    runtime = runtime_of(application.bot_data)
    await runtime.call(runtime.dialog.prune_processed_updates)
    await register_commands(application)
    await start_scheduler(application)


async def start_scheduler(application: Application) -> Scheduler:
    """Jobs are derived from the database: armed at every start, nothing pickled."""
    runtime = runtime_of(application.bot_data)
    ctx = runtime.dialog.ctx

    async def send(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        return await send_reply(application.bot, runtime, chat_id, reply)

    scheduler = Scheduler(application.job_queue, send, ctx.clock)
    # Paced a little under the limiter's ceiling so fan-out sends never queue inside it.
    pace = runtime.settings.messages_per_second * 0.9
    scheduler.register(ReminderSource(ReminderService(ctx), messages_per_second=pace))
    runtime.scheduler = scheduler
    await scheduler.start()
    return scheduler


async def register_commands(application: Application) -> None:
    """The command menu, in Indonesian; admins also see theirs in their own chats."""
    renderer = runtime_of(application.bot_data).renderer
    asn = [BotCommand(name, text) for name, text in renderer.commands("asn").items()]
    admin = asn + [BotCommand(name, text) for name, text in renderer.commands("admin").items()]
    await application.bot.set_my_commands(asn, scope=BotCommandScopeDefault())
    for admin_id in runtime_of(application.bot_data).settings.admin_ids:
        try:
            await application.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
        except BadRequest as exc:  # the admin has not opened a chat with the bot yet
            log.info("admin %s command menu not set: %s", admin_id, exc.message)
        except TelegramError:
            log.warning("admin %s command menu not set", admin_id, exc_info=True)


async def start_polling_in_loop(application: Application, poll_timeout: int = 10) -> None:
    """Start the bot inside an already running event loop (the shell and the tests).

    `run_polling` owns its loop and calls post_init itself; this is the same start-up for code
    that shares its loop with something else, like the Bot API emulator.
    """
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    await application.updater.start_polling(
        poll_interval=0,
        timeout=poll_timeout,
        allowed_updates=list(ALLOWED_UPDATES),
        drop_pending_updates=False,
    )


async def stop_polling_in_loop(application: Application) -> None:
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
