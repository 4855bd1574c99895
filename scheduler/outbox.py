"""The one outbox source: every fan-out (reminders, broadcasts) is claim → send → record here.

A feature says *what* is due (batches of items, each to one chat) and how one item is claimed,
rendered and recorded (models/outbox.py holds the shared claim and record); this source says
*how* it is delivered, the same for every feature: each send waits for its bulk turn of the
send limiter *before* the item is claimed, so the moment between the claim being committed and
the request reaching Telegram stays a few milliseconds. A process killed mid fan-out leaves at
most the messages in flight unconfirmed (never sent twice); the next run sends the rest.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from bot.services.replies import AnyReply
from scheduler.core import DeliveryStatus, Sender, Turn, paced_fan_out, unpaced

T = TypeVar("T")
# Sends in flight at once: enough to keep the pace against Telegram's latency.
CONCURRENCY = 8


def _nothing() -> tuple[int, AnyReply] | None:
    return None


@dataclass
class Batch(Generic[T]):
    """Items sent together, then `finish` (run once they are all handled) may return one
    closing message, e.g. a broadcast's report to its admin."""

    items: list[T]
    finish: Callable[[], tuple[int, AnyReply] | None] = field(default=_nothing)


class OutboxSource(ABC, Generic[T]):
    """A scheduler source (scheduler.core.JobSource) delivering a feature's items."""

    kind: str

    def __init__(self, turn: Turn = unpaced, concurrency: int = CONCURRENCY) -> None:
        self.turn = turn
        self.concurrency = concurrency

    @abstractmethod
    def wake_times(self, now: datetime) -> list[datetime]: ...

    @abstractmethod
    def batches(self, now: datetime) -> list[Batch[T]]:
        """What is due at `now` and not yet handled (runs in a worker thread)."""

    @abstractmethod
    def chat_of(self, item: T) -> int: ...

    @abstractmethod
    def claim(self, item: T, now: datetime) -> AnyReply | None:
        """Take the item (committed before returning) and its message; None if taken or moot."""

    @abstractmethod
    def record(self, item: T, status: DeliveryStatus, now: datetime) -> None: ...

    async def run_due(self, now: datetime, send: Sender) -> None:
        for batch in await asyncio.to_thread(self.batches, now):
            await self._deliver_batch(batch, now, send)

    async def _deliver_batch(self, batch: Batch[T], now: datetime, send: Sender) -> None:
        async def deliver(item: T) -> None:
            reply = await asyncio.to_thread(self.claim, item, now)
            if reply is None:
                return
            status = await send(self.chat_of(item), reply)
            await asyncio.to_thread(self.record, item, status, now)

        await paced_fan_out(batch.items, deliver, self.turn, self.chat_of, self.concurrency)
        closing = await asyncio.to_thread(batch.finish)
        if closing is not None:
            await send(*closing)
