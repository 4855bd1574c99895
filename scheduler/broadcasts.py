"""The broadcast source: sends each confirmed broadcast through the outbox, then the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services.broadcast import KIND, BroadcastService
from bot.services.replies import AnyReply
from scheduler.core import DeliveryStatus, Turn, unpaced
from scheduler.outbox import CONCURRENCY, Batch, OutboxSource


@dataclass(frozen=True)
class BroadcastItem:
    broadcast_id: int
    user_id: int
    message: AnyReply


class BroadcastSource(OutboxSource[BroadcastItem]):
    kind = KIND

    def __init__(
        self, service: BroadcastService, turn: Turn = unpaced, concurrency: int = CONCURRENCY
    ) -> None:
        super().__init__(turn, concurrency)
        self.service = service

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    def batches(self, now: datetime) -> list[Batch[BroadcastItem]]:
        return [b for i in self.service.sending_ids() if (b := self._batch(i)) is not None]

    def _batch(self, broadcast_id: int) -> Batch[BroadcastItem] | None:
        service = self.service
        message = service.message_of(broadcast_id)
        if message is None:
            return None
        items = [
            BroadcastItem(broadcast_id, user_id, message)
            for user_id in service.pending_recipients(broadcast_id)
        ]
        return Batch(items, lambda: service.finish(broadcast_id, service.ctx.now()))

    def chat_of(self, item: BroadcastItem) -> int:
        return item.user_id

    def claim(self, item: BroadcastItem, now: datetime) -> AnyReply | None:
        # The time of the claim itself (a long broadcast outlasts the run's `now`).
        claimed = self.service.claim(item.broadcast_id, item.user_id, self.service.ctx.now())
        return item.message if claimed else None

    def record(self, item: BroadcastItem, status: DeliveryStatus, now: datetime) -> None:
        self.service.record(item.broadcast_id, item.user_id, status, self.service.ctx.now())
