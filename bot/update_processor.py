"""Updates of different users are handled concurrently; each user's updates keep their order.

python-telegram-bot handles one update at a time by default. Its `concurrent_updates` lifts that
for everyone at once, which would let a user's second message overtake the first (and break,
for example, joining a long text the client split into several messages). Here each user
(or chat) has a FIFO lock taken before the shared concurrency limit, so a user who sends many
messages at once never holds the slots other users need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 64,
        on_finished: Callable[[int], None] | None = None,
        admit: Callable[[object], bool] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # Told each handled update's id (polling confirms it to Telegram only then).
        self._on_finished = on_finished
        # Flood control (bot/flood.py): False for an update that is not to be handled.
        self._admit = admit

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._admit is not None and not self._admit(update):
            # Dropped before it waits behind the user's earlier updates: finished at once.
            coroutine.close()  # type: ignore[attr-defined]
            if self._on_finished is not None and isinstance(update, Update):
                self._on_finished(update.update_id)
            return
        key = _ordering_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._semaphore:
                await self.do_process_update(update, coroutine)
        finally:
            if self._on_finished is not None and isinstance(update, Update):
                self._on_finished(update.update_id)
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle users: memory stays flat
                del self._waiting[key]
                del self._locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _ordering_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return 0
