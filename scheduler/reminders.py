"""The reminder source: wakes at each reminder time and sends what is due.

Sends are paced *before* each reminder is claimed, so that the moment between the claim being
committed and the request reaching Telegram stays a few milliseconds: a process killed mid
fan-out leaves at most the message in flight unconfirmed, never a queue of claimed-but-unsent
reminders waiting on the rate limiter.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.services.reminders import DueReminder, ReminderService
from scheduler.core import Sender, Turn, paced_fan_out, unpaced

KIND = "reminders"
# Sends in flight at once: enough to keep the pace against Telegram's latency.
CONCURRENCY = 8


class ReminderSource:
    kind = KIND

    def __init__(
        self,
        service: ReminderService,
        turn: Turn = unpaced,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.service = service
        self.turn = turn
        self.concurrency = concurrency

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    async def run_due(self, now: datetime, send: Sender) -> None:
        due = await asyncio.to_thread(self.service.collect_due, now)

        async def deliver(item: DueReminder) -> None:
            reply = await asyncio.to_thread(self.service.claim, item, now)
            if reply is None:
                return
            status = await send(item.user_id, reply)
            await asyncio.to_thread(self.service.record, item, status, now)

        await paced_fan_out(due, deliver, self.turn, lambda item: item.user_id, self.concurrency)
