"""The reminder source: wakes at each reminder time and sends what is due, in parallel up to
the configured rate (the Application's rate limiter keeps the overall ceiling)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.services.reminders import DueReminder, ReminderService
from scheduler.core import Sender

KIND = "reminders"
# Sends in flight at once: enough to fill ~25 msg/s against Telegram's latency.
CONCURRENCY = 16


class ReminderSource:
    kind = KIND

    def __init__(self, service: ReminderService, concurrency: int = CONCURRENCY) -> None:
        self.service = service
        self.concurrency = concurrency

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    async def run_due(self, now: datetime, send: Sender) -> None:
        due = await asyncio.to_thread(self.service.collect_due, now)
        slots = asyncio.Semaphore(self.concurrency)

        async def deliver(item: DueReminder) -> None:
            async with slots:
                reply = await asyncio.to_thread(self.service.claim, item, now)
                if reply is None:
                    return
                status = await send(item.user_id, reply)
                await asyncio.to_thread(self.service.record, item, status, now)

        await asyncio.gather(*(deliver(item) for item in due))
