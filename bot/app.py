"""The composition root: the only place that sees every folder and wires them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot.http_transport import AiohttpRequest
from bot.polling import ConfirmingPollRequest, UpdateTracker
from bot.rendering import Renderer
from bot.runtime import BOT_DATA_KEY, Runtime, runtime_of
from bot.send_limiter import PriorityRateLimiter
from bot.services.broadcast import BroadcastService
from bot.services.context import ServiceContext
from bot.services.exports import ExportService
from bot.services.features import build_dialog
from bot.services.formats import FormatRegistry, load_data_list
from bot.services.opd_admin import seed_default_opds
from bot.services.reminders import ReminderService
from bot.services.replies import AnyReply
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from handlers.menus import set_menus
from handlers.sending import send_reply
from models.db import Database
from models.types import utcnow
from scheduler.broadcasts import BroadcastSource
from scheduler.consultations import register_consultation_sources
from scheduler.core import DeliveryStatus, Scheduler, unpaced
from scheduler.exports import ExportSource
from scheduler.leader import Leadership
from scheduler.reminders import ReminderSource

log = logging.getLogger(__name__)
LEADERSHIP_KEY = "scheduler_leadership"
ALLOWED_UPDATES = Update.ALL_TYPES
HTTP_CONNECTIONS = 8


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


def build_send_limiter(settings: Settings) -> PriorityRateLimiter:
    """This process's share of the bot's sending budget (every process sharing the token
    takes 1/BOT_PROCESSES of MESSAGES_PER_SECOND), with the bulk lane's reserved share."""
    paid = settings.paid_broadcast_per_second if settings.allow_paid_broadcast else None
    return PriorityRateLimiter(
        settings.messages_per_second / settings.bot_processes,
        settings.bulk_reserved_share,
        paid_per_second=paid / settings.bot_processes if paid else None,
        early_slots=PriorityRateLimiter.early_slots_for(
            settings.messages_per_second, settings.bot_processes
        ),
        max_retries=3,
    )


def build_application(
    settings: Settings, database: Database, clock: Callable[[], datetime] = utcnow
) -> Application:
    runtime = build_runtime(settings, database, clock)
    updates = UpdateTracker()  # polling confirms an update to Telegram once it is handled
    # Replies before bulk sends, evenly paced under the ceiling, per chat too (send_limiter.py).
    limiter = build_send_limiter(settings)
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.api_base_file_url)
        # A few keep-alive connections carry the load (see bot/http_transport.py).
        .request(AiohttpRequest(HTTP_CONNECTIONS, read_timeout=settings.telegram_read_timeout))
        .get_updates_request(
            ConfirmingPollRequest(updates, read_timeout=settings.telegram_read_timeout)
        )
        .rate_limiter(limiter)
        .concurrent_updates(
            PerUserUpdateProcessor(settings.concurrent_updates, on_finished=updates.finished)
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[BOT_DATA_KEY] = runtime
    handlers.register(application)
    return application


async def _post_init(application: Application) -> None:
    runtime = runtime_of(application.bot_data)
    await runtime.call(runtime.dialog.prune_processed_updates)
    # Links such as a mentor invite (t.me/<bot>?start=...) are built in templates.
    runtime.renderer.env.globals["bot_username"] = application.bot.username
    await set_menus(application.bot, runtime)
    await claim_scheduler(application)


async def _post_shutdown(application: Application) -> None:
    leadership = application.bot_data.get(LEADERSHIP_KEY)
    if leadership is not None:
        leadership.release()


async def claim_scheduler(application: Application) -> None:
    """Run scheduled jobs in this process if no other does; otherwise keep asking, so that
    another process takes over within a minute when the one running them dies."""
    runtime = runtime_of(application.bot_data)
    leadership = Leadership(runtime.dialog.ctx.db)
    application.bot_data[LEADERSHIP_KEY] = leadership

    async def attempt(context: object = None) -> None:
        if runtime.scheduler is None and await asyncio.to_thread(leadership.try_acquire):
            log.info("this process runs the scheduled jobs")
            await start_scheduler(application)

    await attempt()
    retry = timedelta(seconds=runtime.settings.scheduler_claim_seconds)
    application.job_queue.run_repeating(attempt, interval=retry, first=retry, name="leadership")


async def start_scheduler(application: Application) -> Scheduler:
    """Jobs are derived from the database: armed at every start, nothing pickled."""
    runtime = runtime_of(application.bot_data)
    ctx = runtime.dialog.ctx

    async def send(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        return await send_reply(application.bot, runtime, chat_id, reply)

    scheduler = Scheduler(application.job_queue, send, ctx.clock)
    # A fan-out claims each recipient only once the send limiter grants it a bulk slot.
    limiter = application.bot.rate_limiter
    turn = limiter.bulk_turn if isinstance(limiter, PriorityRateLimiter) else unpaced
    scheduler.register(ReminderSource(ReminderService(ctx), turn=turn))
    scheduler.register(BroadcastSource(BroadcastService(ctx), turn=turn))
    scheduler.register(ExportSource(ExportService(ctx)))
    register_consultation_sources(scheduler, ctx, runtime.settings)
    runtime.scheduler = scheduler
    await scheduler.start()
    return scheduler


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
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
