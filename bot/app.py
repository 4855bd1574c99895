"""The composition root: the only place that sees every folder and wires them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot.flood import FloodControl
from bot.http_transport import AiohttpRequest
from bot.logsafety import hide_token_in_logs
from bot.polling import ConfirmingPollRequest, UpdateTracker
from bot.rendering import Renderer
from bot.runtime import BOT_DATA_KEY, Runtime, runtime_of
from bot.send_limiter import TELEGRAM_PER_SECOND, PriorityRateLimiter
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
from scheduler.leader import CHECK_TIMEOUT_SECONDS, Leadership
from scheduler.reminders import ReminderSource

log = logging.getLogger(__name__)
LEADERSHIP_KEY = "scheduler_leadership"
FLOOD_KEY = "flood_control"
ALLOWED_UPDATES = Update.ALL_TYPES
HTTP_CONNECTIONS = 8
PRUNE_JOB = "prune_processed_updates"
PRUNE_INTERVAL = timedelta(hours=1)


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
        region_capital=settings.region_capital,
        continuation_window_seconds=settings.continuation_window_seconds,
        reminder_offsets_days=settings.reminder_offsets_days,
        reminder_time=settings.reminder_time,
        reminder_grace=timedelta(hours=settings.reminder_grace_hours),
        clock=clock,
        max_drafts_per_user=settings.max_drafts_per_user,
        max_open_consultations=settings.max_open_consultations,
        max_revisions_per_section=settings.max_revisions_per_section,
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
        arrivals_per_second=(TELEGRAM_PER_SECOND - 1) / settings.bot_processes,
        max_retries=3,
    )


def build_application(
    settings: Settings, database: Database, clock: Callable[[], datetime] = utcnow
) -> Application:
    hide_token_in_logs(settings.telegram_bot_token)  # before PTB logs its URL, at DEBUG
    runtime = build_runtime(settings, database, clock)
    updates = UpdateTracker()  # polling confirms an update to Telegram once it is handled
    flood = FloodControl(settings.flood_rate_per_second, settings.flood_burst)
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
            PerUserUpdateProcessor(
                settings.concurrent_updates,
                on_finished=updates.finished,
                on_deferred=updates.deferred,
                admit=flood.admit,
                retry_delays=settings.update_retry_delays,
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[BOT_DATA_KEY] = runtime
    application.bot_data[FLOOD_KEY] = flood
    flood.notify = handlers.guards.flood_notice(application)
    flood.dismiss = handlers.guards.flood_dismissal(application)
    handlers.register(application)
    # An update deferred after a passing failure is handled again until the bot stops.
    processor = application.update_processor
    assert isinstance(processor, PerUserUpdateProcessor)
    processor.handle_again = application.process_update
    processor.keep_retrying = lambda: application.running
    return application


async def _post_init(application: Application) -> None:
    runtime = runtime_of(application.bot_data)
    await prune_processed_updates(application)
    # Every process prunes (one indexed DELETE an hour): the table holds two days of updates.
    application.job_queue.run_repeating(
        prune_processed_updates, interval=PRUNE_INTERVAL, first=PRUNE_INTERVAL, name=PRUNE_JOB
    )
    # Links such as a mentor invite (t.me/<bot>?start=...) are built in templates.
    runtime.renderer.env.globals["bot_username"] = application.bot.username
    await set_menus(application.bot, runtime)
    await claim_scheduler(application)


async def prune_processed_updates(context: object) -> None:
    """`context` is the Application at start, a job's context afterwards."""
    application = getattr(context, "application", context)
    runtime = runtime_of(application.bot_data)
    try:
        await runtime.call(runtime.dialog.prune_processed_updates)
    except SQLAlchemyError:  # the database is away for a moment: the next hour prunes
        log.warning("could not prune processed updates", exc_info=True)


async def _post_shutdown(application: Application) -> None:
    leadership = application.bot_data.get(LEADERSHIP_KEY)
    if leadership is not None:
        leadership.release()


async def claim_scheduler(application: Application) -> None:
    """Run scheduled jobs in this process if no other does; otherwise keep asking, so that
    another process takes over within a minute when the one running them dies. The holder
    checks its lock on the same timer and before every wake-up, and stops on doubt."""
    runtime = runtime_of(application.bot_data)
    leadership = Leadership(runtime.dialog.ctx.db)
    application.bot_data[LEADERSHIP_KEY] = leadership
    retry = timedelta(seconds=runtime.settings.scheduler_claim_seconds)
    checking = asyncio.Lock()  # one check at a time on the lock's one connection

    async def still_leader() -> bool:
        async with checking:
            if runtime.scheduler is None:
                return False
            if await leadership.confirm():
                return True
            log.warning("this process stops running the scheduled jobs")
            runtime.scheduler.stop()
            runtime.scheduler = None
            return False

    async def attempt(context: object = None) -> None:
        if runtime.scheduler is not None:
            await still_leader()
            return
        if not await asyncio.to_thread(leadership.try_acquire):
            return
        if context is not None and leadership.can_be_lost:
            # Taking over: a holder whose session was cut may not have noticed yet. It checks
            # every `retry` (each check bounded in time), so after that it has stopped.
            waited = await _sleep_while_running(
                application, retry.total_seconds() + CHECK_TIMEOUT_SECONDS
            )
            if not waited or runtime.scheduler is not None or not await leadership.confirm():
                return
        log.info("this process runs the scheduled jobs")
        await start_scheduler(application, still_leader)

    await attempt()
    application.job_queue.run_repeating(
        attempt,
        interval=retry,
        first=retry,
        name="leadership",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )


async def _sleep_while_running(application: Application, seconds: float) -> bool:
    """Sleep in short steps, so that stopping the bot is not held up; False if it stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if not application.running:
            return False
        await asyncio.sleep(min(0.5, deadline - loop.time()))
    return application.running


async def start_scheduler(
    application: Application, still_leader: Callable[[], Awaitable[bool]] | None = None
) -> Scheduler:
    """Jobs are derived from the database: armed at every start, nothing pickled."""
    runtime = runtime_of(application.bot_data)
    ctx = runtime.dialog.ctx

    async def send(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        return await send_reply(application.bot, runtime, chat_id, reply)

    scheduler = Scheduler(application.job_queue, send, ctx.clock, still_leader)
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
