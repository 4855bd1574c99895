"""The broadcast source: sends each confirmed broadcast to its recipients, then the report.

Paced like the reminders: the pace is taken *before* a delivery is claimed, so a process killed
mid-way leaves at most the message in flight unconfirmed; the next start sends the rest.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.services.broadcast import KIND, BroadcastService
from scheduler.core import Sender, Turn, paced_fan_out, unpaced

CONCURRENCY = 8


class BroadcastSource:
    kind = KIND

    def __init__(
        self,
        service: BroadcastService,
        turn: Turn = unpaced,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.service = service
        self.turn = turn
        self.concurrency = concurrency

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    async def run_due(self, now: datetime, send: Sender) -> None:
        for broadcast_id in await asyncio.to_thread(self.service.sending_ids):
            await self._send_one(broadcast_id, send)

    async def _send_one(self, broadcast_id: int, send: Sender) -> None:
        service = self.service
        message = await asyncio.to_thread(service.message_of, broadcast_id)
        if message is None:
            return
        recipients = await asyncio.to_thread(service.pending_recipients, broadcast_id)

        async def deliver(user_id: int) -> None:
            now = service.ctx.now()
            if not await asyncio.to_thread(service.claim, broadcast_id, user_id, now):
                return
            status = await send(user_id, message)
            await asyncio.to_thread(service.record, broadcast_id, user_id, status, now)

        await paced_fan_out(
            recipients, deliver, self.turn, lambda user_id: user_id, self.concurrency
        )
        finished = await asyncio.to_thread(service.finish, broadcast_id, service.ctx.now())
        if finished is not None:
            admin_id, report = finished
            await send(admin_id, report)
