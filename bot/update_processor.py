"""Updates of different users are handled concurrently; each user's updates keep their order.

python-telegram-bot handles one update at a time by default. Its `concurrent_updates` lifts that
for everyone at once, which would let a user's second message overtake the first (and break,
for example, joining a long text the client split into several messages). Here each user
(or chat) has a FIFO lock taken before the shared concurrency limit, so a user who sends many
messages at once never holds the slots other users need.

An update whose handling failed for a passing reason (the database unreachable) must not be
confirmed to Telegram, or it is lost: the error handler *defers* it (`defer_current_update`).
In polling mode it is handled again here after a pause, still holding its user's lock (so the
user's later updates wait behind it, in order) and still unconfirmed (bot/polling.py holds the
offset); in webhook mode `process_once` says so and the request is answered 503, so Telegram
sends the update again. Its id recorded with its change (handlers/guards.py) makes a retry of
an update whose change did commit harmless. A failure that is not passing (a bug) is reported
and the update finished, so that it cannot stop the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # then every 30 s
GIVE_UP_SECONDS = 24 * 3600.0  # Telegram keeps an unconfirmed update no longer than this
FAILURES_REMEMBERED = 10_000


@dataclass
class _Attempt:
    number: int  # 1 for an update's first attempt in this process
    deferred: bool = False


_current_attempt: ContextVar[_Attempt | None] = ContextVar("update_attempt", default=None)


def defer_current_update() -> int | None:
    """Called by the error handler when handling failed for a passing reason: the update being
    handled is not confirmed but handled again later. Returns which attempt failed (1 for the
    first: tell the user once), or None outside an update being processed here."""
    attempt = _current_attempt.get()
    if attempt is None:
        return None
    attempt.deferred = True
    return attempt.number


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 64,
        on_finished: Callable[[int], None] | None = None,
        admit: Callable[[object], bool] | None = None,
        on_deferred: Callable[[int], None] | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # Told each handled update's id (polling confirms it to Telegram only then), and each
        # deferred one's (polling holds the offset at it however long it takes).
        self._on_finished = on_finished
        self._on_deferred = on_deferred
        # Set by the composition root: handles an update again (a fresh coroutine), and says
        # whether retries may go on (not once the application is stopping).
        self.handle_again: Callable[[object], Awaitable[Any]] | None = None
        self.keep_retrying: Callable[[], bool] = lambda: True
        self._failures: dict[int, int] = {}  # update id -> attempts deferred so far
        self._retry_delays = tuple(retry_delays)
        # Flood control (bot/flood.py): False for an update that is not to be handled.
        self._admit = admit

    def _dropped(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """An update flood control turns away, before it waits behind the user's earlier ones:
        its coroutine is closed and it counts as handled."""
        if self._admit is None or self._admit(update):
            return False
        coroutine.close()  # type: ignore[attr-defined]
        return True

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Polling: a deferred update is handled again after a pause until it succeeds."""
        if self._dropped(update, coroutine):
            if self._on_finished is not None and isinstance(update, Update):
                self._on_finished(update.update_id)
            return
        try:
            await self._in_order(update, self._until_handled(update, coroutine))
        finally:
            if self._on_finished is not None and isinstance(update, Update):
                self._on_finished(update.update_id)

    async def process_once(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """Webhook: one attempt; False when it was deferred (Telegram is to send it again)."""
        if self._dropped(update, coroutine):
            return True  # answered 200: Telegram is not to send it again
        return await self._in_order(update, self._attempt(update, coroutine))

    async def _in_order(self, update: object, work: Awaitable[Any]) -> Any:
        key = _ordering_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                return await work
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle users: memory stays flat
                del self._waiting[key]
                del self._locks[key]

    async def _until_handled(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.monotonic()
        handled = await self._attempt(update, coroutine)
        failures = 0
        while not handled and self.handle_again is not None:
            if isinstance(update, Update) and self._on_deferred is not None:
                self._on_deferred(update.update_id)
            delay = self._retry_delays[min(failures, len(self._retry_delays) - 1)]
            failures += 1
            if not await self._pause(delay) or time.monotonic() - started > GIVE_UP_SECONDS:
                log.warning("update %s left unhandled after %d attempts", _id(update), failures)
                return
            handled = await self._attempt(update, self.handle_again(update))

    async def _pause(self, seconds: float) -> bool:
        """Sleep, in short steps so that stopping the bot is not held up; False if stopping."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.keep_retrying():
                return False
            await asyncio.sleep(min(0.5, deadline - time.monotonic()))
        return self.keep_retrying()

    async def _attempt(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """Handle the update once; False if the error handler deferred it."""
        update_id = _id(update)
        attempt = _Attempt(number=self._failures.get(update_id, 0) + 1)
        token = _current_attempt.set(attempt)
        try:
            async with self._semaphore:
                await self.do_process_update(update, coroutine)
        finally:
            _current_attempt.reset(token)
        self._failures.pop(update_id, None)
        if attempt.deferred:
            if len(self._failures) >= FAILURES_REMEMBERED:  # webhook ones redelivered elsewhere
                self._failures.pop(next(iter(self._failures)))
            self._failures[update_id] = attempt.number
        return not attempt.deferred

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _id(update: object) -> int:
    return update.update_id if isinstance(update, Update) else 0


def _ordering_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return 0
