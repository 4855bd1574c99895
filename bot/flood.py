"""Per-user flood control: a token bucket checked before an update is handed to the handlers.

One user sending a thousand messages must not delay everybody else. In polling mode Telegram's
batches of 100 fill with that user's updates while the confirmed offset waits at the oldest one
still being handled; in webhook mode they take the CPU and the database. So each user has
`burst` tokens, refilled at `rate` a second; an update that finds no token is not handled: it
is reported finished at once (the polling offset moves on) and the user is told once per flood
episode, which ends when their tokens are whole again. A button press turned away is still
answered (a short toast), so the user's app does not spin on it until it gives up. A human
types a few messages a second at most; the burst also lets through a long paste that the
Telegram client split into several messages (one per 4,096 characters) and an album of photos.

Admins are not exempt: a runaway client is as harmful from an admin's account, and the limits
are far above what any person does by hand. The buckets live in this process's memory: with
several processes each counts only the updates it receives (README, "Running in production").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType

log = logging.getLogger(__name__)
# Buckets are forgotten once whole again; looked for every this many screened updates.
PRUNE_EVERY = 1000

Notify = Callable[[int], Awaitable[None]]
# Answers a button press (a callback query id) that is not handled.
Dismiss = Callable[[str], Awaitable[None]]


@dataclass
class _Bucket:
    tokens: float
    updated: float
    told: bool = False  # the user was told of this flood episode


class FloodControl:
    """Decides, per update, whether it is handled; tells a flooding user once per episode."""

    def __init__(
        self,
        rate: float,
        burst: int,
        notify: Notify | None = None,
        clock: Callable[[], float] = time.monotonic,
        dismiss: Dismiss | None = None,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.notify = notify
        self.dismiss = dismiss
        self.dropped = 0
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._screened = 0
        self._notices: set[asyncio.Task[None]] = set()

    def admit(self, update: object) -> bool:
        """True if the update is to be handled; False if it is to be dropped (the caller
        reports it finished). Cheap and synchronous: called for every update."""
        if self.burst <= 0 or not isinstance(update, Update):
            return True
        user = update.effective_user
        if user is None or update.my_chat_member is not None:
            return True  # blocking/unblocking the bot is never flooding, and must be recorded
        bucket = self._take(user.id)
        if bucket is None:
            return True
        self.dropped += 1
        chat = update.effective_chat
        if not bucket.told and chat is not None and chat.type == ChatType.PRIVATE:
            bucket.told = True
            log.warning("user %s sends too many updates: the excess is not handled", user.id)
            self._tell(chat.id)
        if update.callback_query is not None and self.dismiss is not None:
            self._run(self.dismiss(update.callback_query.id), "answer a button of", user.id)
        return False

    def _take(self, user_id: int) -> _Bucket | None:
        """Take a token from the user's bucket; returns the bucket only if it was empty."""
        now = self.clock()
        self._screened += 1
        if self._screened % PRUNE_EVERY == 0:
            self._prune(now)
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= self.burst:
                bucket.told = False  # whole again: a new flood gets a new notice
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return bucket

    def _prune(self, now: float) -> None:
        """Forget users whose bucket is whole again, so memory stays flat."""
        whole = [
            user_id
            for user_id, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]
        for user_id in whole:
            del self._buckets[user_id]

    def _tell(self, chat_id: int) -> None:
        if self.notify is not None:
            self._run(self.notify(chat_id), "tell", chat_id)

    def _run(self, call: Awaitable[None], what: str, user_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self._safely(call, what, user_id))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _safely(self, call: Awaitable[None], what: str, user_id: int) -> None:
        try:
            await call
        except Exception:  # a notice must never break the processing of other updates
            log.warning("could not %s user %s about the flood limit", what, user_id, exc_info=True)
