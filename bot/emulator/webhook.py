"""Webhook delivery as Telegram does it: POST each queued update to the webhook URL.

Modelled on the official Bot API server (tdlib/telegram-bot-api, WebhookActor):

- Updates are grouped into queues by chat (for updates without a chat, by user). A queue sends
  its next update only after the previous one was answered with a 2xx, so one chat's updates
  reach the bot in order and never two at a time, while different chats' updates travel in
  parallel (at most ``max_connections``, default 40).
- A non-2xx answer, a refused or dropped connection, or a timeout is retried: the first time at
  once, then after 2, 4, 8 … seconds (capped; a ``Retry-After`` header is obeyed). Delivery is
  therefore at least once: an update whose answer was lost is sent again.
- Every request carries ``X-Telegram-Bot-Api-Secret-Token`` when setWebhook had a secret_token.
- While a webhook is set getUpdates answers 409; deleteWebhook stops delivery and leaves the
  remaining updates to getUpdates.

Only URLs on this machine (127.0.0.0/8, localhost, [::1]) are called; a webhook elsewhere is
recorded but nothing is sent, as before (tests that only need setWebhook's parameters).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from .state import QueuedUpdate

if TYPE_CHECKING:
    from .core import EmulatorCore

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40


def is_local_url(url: str) -> bool:
    """True for http(s) URLs on the loopback interface: the only ones the emulator calls."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def queue_id(update: dict[str, Any]) -> int:
    """The queue an update waits in: its chat, else its sender (Telegram's per-chat order)."""
    body = next((v for k, v in update.items() if k != "update_id"), {})
    if not isinstance(body, dict):
        return 0
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if isinstance(chat, dict) and "id" in chat:
        return int(chat["id"])
    sender = body.get("from") or body.get("user")
    if isinstance(sender, dict) and "id" in sender:
        return int(sender["id"])
    return 0


@dataclass
class DeliveryAttempt:
    """One POST of an update to the webhook, as recorded for tests."""

    update_id: int
    attempt: int
    status: int | None  # HTTP status, or None for a connection error / timeout
    error: str | None
    at: float


class WebhookDelivery:
    """The task that pushes pending updates to the webhook while one is set."""

    def __init__(
        self,
        core: EmulatorCore,
        *,
        retry_base: float = 2.0,
        retry_cap: float = 60.0,
        request_timeout: float = 60.0,
    ) -> None:
        self.core = core
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.request_timeout = request_timeout
        self.attempts: list[DeliveryAttempt] = []
        self._in_flight: dict[int, QueuedUpdate] = {}  # queue id -> the update being sent
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._senders: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="emulator-webhook")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._senders) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self._senders.clear()
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- scheduling ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.core.webhook.get("url") or "")

    @property
    def active(self) -> bool:
        return bool(self.url) and is_local_url(self.url)

    @property
    def max_connections(self) -> int:
        given = self.core.webhook.get("max_connections")
        try:
            return max(1, min(int(given), 100)) if given else DEFAULT_MAX_CONNECTIONS
        except (TypeError, ValueError):
            return DEFAULT_MAX_CONNECTIONS

    def _ready(self, now: float) -> tuple[list[QueuedUpdate], float | None]:
        """The heads of idle queues that may be sent now, and the next retry time if any."""
        if not self.active:
            return [], None
        updates = self.core.updates
        updates.pending = [item for item in updates.pending if item.type in updates.allowed]
        ready: list[QueuedUpdate] = []
        seen: set[int] = set(self._in_flight)
        next_wakeup: float | None = None
        room = self.max_connections - len(self._in_flight)
        for item in updates.pending:
            queue = queue_id(item.update)
            if queue in seen:
                continue  # an earlier update of this chat is pending or in flight
            seen.add(queue)
            if item.retry_at > now:
                next_wakeup = (
                    item.retry_at if next_wakeup is None else min(next_wakeup, item.retry_at)
                )
                continue
            if len(ready) < room:
                ready.append(item)
        return ready, next_wakeup

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            ready, next_wakeup = self._ready(loop.time())
            for item in ready:
                self._send_soon(item)
            timeout = None if next_wakeup is None else max(next_wakeup - loop.time(), 0.001)
            # Any change (a new update, an answer, setWebhook) re-evaluates the queues.
            await self.core.signal.wait_next(timeout)

    def _send_soon(self, item: QueuedUpdate) -> None:
        queue = queue_id(item.update)
        self._in_flight[queue] = item
        task = asyncio.create_task(self._send(queue, item))
        self._senders.add(task)
        task.add_done_callback(self._senders.discard)

    # -- one delivery ----------------------------------------------------------------------------

    async def _send(self, queue: int, item: QueuedUpdate) -> None:
        url, secret = self.url, self.core.webhook.get("secret_token")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = str(secret)
        status: int | None = None
        error: str | None = None
        retry_after = 0.0
        try:
            session = self._client()
            async with session.post(url, data=json.dumps(item.update), headers=headers) as answer:
                status = answer.status
                await answer.read()
                retry_after = _retry_after(answer.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._in_flight.pop(queue, None)
        ok = status is not None and 200 <= status <= 299
        self.attempts.append(
            DeliveryAttempt(item.update_id, item.failures + 1, status, error, time.time())
        )
        if ok:
            item.delivered = True
            with contextlib.suppress(ValueError):
                self.core.updates.pending.remove(item)
        else:
            # Telegram: the first failure is retried at once, then 2, 4, 8 … seconds.
            delay = 0.0 if item.failures == 0 else self.retry_base * 2 ** (item.failures - 1)
            delay = max(min(delay, self.retry_cap), retry_after)
            item.failures += 1
            item.retry_at = asyncio.get_running_loop().time() + delay
            logger.info(
                "webhook delivery of update %s failed (%s); retry in %.1f s",
                item.update_id,
                status or error,
                delay,
            )
        self.core.signal.notify()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.request_timeout),
                connector=aiohttp.TCPConnector(limit=100),
            )
        return self._session


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        return 0.0
