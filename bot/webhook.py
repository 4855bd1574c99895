"""Webhook mode: an aiohttp server that takes Telegram's POSTs (each must carry the secret
token header) and serves `/health`. Any process can serve any update, because a user's place in
a conversation lives in the database."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time
from collections.abc import Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.runtime import runtime_of
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from models.db import Database

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TTL_SECONDS = 5.0
HEALTH_CHECK_TIMEOUT = 5.0


def build_webhook_app(
    application: Application,
    settings: Settings,
    database: Database,
    probe: HealthProbe | None = None,
) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)

    async def receive(request: web.Request) -> web.Response:
        if not _has_secret(request, settings):
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            return web.Response(status=400, text="bad update")
        # Answered only once handled: if this process dies first, Telegram gets no 2xx and sends
        # the update again (to any process), and it holds the chat's next update until then,
        # so each chat's updates are handled in order even across processes. An update that
        # failed for a passing reason (the database away) is answered 503 for the same effect.
        # A task of its own: handling state kept in context variables stays with this update.
        processor = application.update_processor
        assert isinstance(processor, PerUserUpdateProcessor)
        handled = await asyncio.create_task(
            processor.process_once(update, application.process_update(update))
        )
        if not handled:
            return web.Response(status=503, text="not handled yet; send it again")
        return web.Response(text="ok")

    probe = probe or HealthProbe(database.ping)

    async def health(request: web.Request) -> web.Response:
        """Anyone may ask, so the answer is the status alone and costs no database round trip
        (the probe's cached result); the details only with the webhook's secret header."""
        healthy = await probe.healthy()
        status = 200 if healthy else 503
        if _has_secret(request, settings):
            return web.json_response(health_report(application, healthy), status=status)
        return web.json_response({"status": "ok" if healthy else "unavailable"}, status=status)

    app.router.add_post(settings.webhook_path, receive)
    app.router.add_get("/health", health)
    return app


def _has_secret(request: web.Request, settings: Settings) -> bool:
    given = request.headers.get(SECRET_HEADER, "")
    return hmac.compare_digest(given.encode(), settings.webhook_secret.encode())


class HealthProbe:
    """The database's reachability, checked at most once per `ttl` seconds however often
    `/health` is asked (concurrent requests share one check): a flood of health requests
    opens no connections, and an unreachable database does not tie up a thread per request."""

    def __init__(
        self,
        check: Callable[[], bool],
        ttl: float = HEALTH_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._ttl = ttl
        self._clock = clock
        self._checked_at: float | None = None
        self._healthy = False
        self._lock = asyncio.Lock()

    async def healthy(self) -> bool:
        async with self._lock:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                try:
                    self._healthy = await asyncio.wait_for(
                        asyncio.to_thread(self._check), HEALTH_CHECK_TIMEOUT
                    )
                except TimeoutError:
                    self._healthy = False
                self._checked_at = self._clock()
            return self._healthy


def health_report(application: Application, healthy: bool) -> dict[str, object]:
    runtime = runtime_of(application.bot_data)
    scheduler = runtime.scheduler
    return {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if healthy else "unreachable",
        "scheduler": "running" if scheduler is not None else "standby",
        "scheduled_jobs": len(application.job_queue.jobs()) if application.job_queue else 0,
        "pending_updates": application.update_queue.qsize(),
    }


async def serve_webhook(
    application: Application,
    settings: Settings,
    database: Database,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set): start the bot, register the webhook."""
    from bot.app import ALLOWED_UPDATES

    stop = stop or _stop_on_signals()
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    runner = web.AppRunner(build_webhook_app(application, settings, database))
    await runner.setup()
    # Several processes on one machine may listen on the same port: the kernel spreads
    # Telegram's connections over them (SO_REUSEPORT), no proxy needed between them.
    site = web.TCPSite(runner, settings.webhook_listen, settings.webhook_port, reuse_port=True)
    await site.start()
    await application.bot.set_webhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=list(ALLOWED_UPDATES),
        drop_pending_updates=False,
    )
    log.info("webhook listening on %s:%s", settings.webhook_listen, settings.webhook_port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
